/**
 * The command line's entry point: `node pipeline/cli.ts <command>`, which `npm run genrelens` and
 * `npm run build` run. The command line itself is lib/cli.ts.
 *
 * This file is plain JavaScript, loaded as CommonJS (pipeline/package.json says so), so that a Node
 * too old to run TypeScript (before 22.18) can still read it and say in one line what to run
 * instead: the npm scripts, which run the Node 24 that `npm install` puts in node_modules/.bin.
 */
if (process.features.typescript) {
  void import('./lib/cli.ts').then((cli) => cli.runCommandLine());
} else {
  const quoted = process.argv.slice(2).map((arg) => (/^[\w./:=@+-]+$/.test(arg) ? arg : JSON.stringify(arg)));
  console.error(
    `genrelens: Node ${process.version} cannot run TypeScript (Node 22.18 or newer can); ` +
      `run it through npm instead, which uses the Node 24 that \`npm install\` installed: npm run genrelens -- ${quoted.join(' ')}`.trimEnd(),
  );
  process.exitCode = 1;
}
