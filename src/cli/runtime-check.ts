// Refuses to run on a Node.js older than gitward needs, with one clear line and exit 2, before any other
// module loads: on Node 20 gitward would otherwise fail deep inside (e.g. `secrets keygen` dies with
// "privateKey.toCryptoKey is not a function"). main.ts imports this module first; it imports nothing.

export const MIN_NODE_MAJOR = 24;

/** The one-line refusal for a Node version string like "v20.19.2", or undefined when it is new enough. */
export function nodeTooOld(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined;
  return (
    `gitward: needs Node.js ${MIN_NODE_MAJOR} or newer, but runs on Node.js ${version} (${process.execPath}); ` +
    `install Node.js ${MIN_NODE_MAJOR}, or run it through npm (\`npm run gitward -- ...\`) or the container image`
  );
}

const refusal = nodeTooOld(process.version);
if (refusal !== undefined) {
  process.stderr.write(`${refusal}\n`);
  process.exit(2);
}
