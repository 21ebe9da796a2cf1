// The first import of src/main.ts, so it runs before any other module's body: on a Node.js older
// than 20 the edge says so in one line and exits 1, instead of failing later in a dependency.
// (Debian 12 ships Node 18; docs/quickstart.md has the one line that installs a newer one.)
export const MINIMUM_NODE_MAJOR = 20;

/** The one-line complaint about this Node.js version, or undefined when it is new enough. */
export function nodeVersionProblem(version: string, execPath: string): string | undefined {
  const major = Number.parseInt(version.replace(/^v/, '').split('.')[0] ?? '', 10);
  if (Number.isInteger(major) && major >= MINIMUM_NODE_MAJOR) return undefined;
  return `wa-edge: needs Node.js ${MINIMUM_NODE_MAJOR} or later, but ${execPath} is ${version} (Debian 12 ships 18: see docs/quickstart.md, "Node.js")`;
}

const problem = nodeVersionProblem(process.version, process.execPath);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
