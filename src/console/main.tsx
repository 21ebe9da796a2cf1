// Entry of the operator console bundle (scripts/build-console.ts).
import { render } from 'preact';
import { App } from './App.js';

const root = document.getElementById('app');
if (root) render(<App />, root);
