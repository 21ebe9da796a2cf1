// tsc copies no non-TS files; the Lua scripts are read at run time next to the compiled state module.
import { cpSync } from 'node:fs';
cpSync('src/state/lua', 'dist/state/lua', { recursive: true });
