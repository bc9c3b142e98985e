/**
 * What a newcomer meets on a fresh machine, whatever Node it has: the CLI's launcher on a Node that
 * cannot run TypeScript (one line naming the Node needed and the npm command instead), the
 * install's configuration (every install script reviewed, the project's own Node pinned), and a
 * backend probe that prints nothing of its own where WebGPU cannot work.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from './helpers/fixture-build.ts';

const run = promisify(execFile);
const json = (file: string) => JSON.parse(readFileSync(join(projectRoot, file), 'utf8'));

/** Runs `node [nodeArgs] pipeline/cli.ts args` and returns its exit code and output, whatever the code. */
async function launch(node: string, nodeArgs: string[], args: string[]) {
  try {
    const { stdout, stderr } = await run(node, [...nodeArgs, 'pipeline/cli.ts', ...args], { cwd: projectRoot, env: { ...process.env, CI: 'true' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function assertOldNodeMessage(result: { code: number; stdout: string; stderr: string }, node: string): void {
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, no stack trace:\n${result.stderr}`);
  assert.match(lines[0], new RegExp(`^genrelens: Node ${node.replaceAll('.', '\\.')} cannot run TypeScript \\(Node 22\\.18 or newer can\\)`));
  assert.ok(lines[0].endsWith('npm run genrelens -- build --out-dir "my site"'), lines[0]);
}

test('on a Node that cannot run TypeScript, the CLI says in one line which Node it needs and what to run instead', async () => {
  // This Node with its TypeScript support turned off stands in for Node 18-22.17.
  const result = await launch(process.execPath, ['--no-experimental-strip-types'], ['build', '--out-dir', 'my site']);
  assertOldNodeMessage(result, process.version);
});

test("the machine's own Node, when it is older than 22.18, gets the same one line", async (t) => {
  const system = '/usr/bin/node';
  if (!existsSync(system)) return t.skip(`no ${system} on this machine`);
  const { stdout: version } = await run(system, ['--version']);
  const [major, minor] = version.trim().slice(1).split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 18)) return t.skip(`${system} is ${version.trim()}, which runs TypeScript`);
  assertOldNodeMessage(await launch(system, [], ['build', '--out-dir', 'my site']), version.trim());
});

test('on a Node that runs TypeScript, the launcher runs the command line', async () => {
  const result = await launch(process.execPath, [], ['--help']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^genrelens — a static report site/);
  assert.equal(result.stderr, '');
  const unknown = await launch(process.execPath, [], ['frobnicate']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^genrelens: unknown command "frobnicate"/);
});

test('the npm scripts run the Node that the devDependency `node` installs, at the pinned version', () => {
  const pkg = json('package.json');
  const lock = json('package-lock.json');
  assert.match(pkg.devDependencies.node, /^\d+\.\d+\.\d+$/, 'pinned exactly');
  assert.equal(Number(pkg.devDependencies.node.split('.')[0]) >= 24, true);
  assert.equal(lock.packages['node_modules/node'].version, pkg.devDependencies.node);
  for (const name of ['genrelens', 'build']) assert.match(pkg.scripts[name], /^node pipeline\/cli\.ts\b/);
  // Run through `npm test`, this test itself runs on it.
  if (process.env.npm_lifecycle_event === 'test') assert.equal(process.version, `v${pkg.devDependencies.node}`);
});

test('every dependency with an install script is reviewed in allowScripts, so npm runs or skips it without a warning', () => {
  const pkg = json('package.json');
  const lock = json('package-lock.json');
  const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
    .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  assert.ok(withScripts.includes('node'), 'the Node 24 package installs its binary from a preinstall script');
  assert.deepEqual([...new Set(withScripts)].sort(), Object.keys(pkg.allowScripts).sort());
  assert.equal(pkg.allowScripts.node, true);
  // Its postinstall only downloads CUDA libraries (offline it fails and npm drops the package).
  assert.equal(pkg.allowScripts['onnxruntime-node'], false);
  const npmrc = readFileSync(join(projectRoot, '.npmrc'), 'utf8');
  assert.match(npmrc, /^strict-allow-scripts=true$/m, 'a new unreviewed install script fails the install');
});

test('choosing a backend prints nothing of its own: WebGPU is probed only where Dawn can find an adapter', async () => {
  const script = `
    import { selectBackend } from './pipeline/lib/engine/backend.ts';
    const lines = [];
    const info = await selectBackend({ effects: { info: (l) => lines.push(l), warn: (l) => lines.push(l), progress() {}, now: () => Date.now() } });
    process.stdout.write(JSON.stringify(info.attempts));
  `;
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: projectRoot });
  assert.equal(stderr, '', 'no native warning reaches the terminal');
  const webgpu = (JSON.parse(stdout) as { backend: string; ok: boolean; reason?: string }[]).find((a) => a.backend === 'webgpu');
  assert.ok(webgpu, 'WebGPU was considered');
  const { stdout: cache } = await run('sh', ['-c', 'ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true']);
  if (process.platform === 'linux' && !cache.includes('libvulkan.so.1') && !process.env.LD_LIBRARY_PATH) {
    assert.equal(webgpu.ok, false);
    assert.match(webgpu.reason ?? '', /^no Vulkan loader \(libvulkan\.so\.1\) on this machine/);
  }
});
