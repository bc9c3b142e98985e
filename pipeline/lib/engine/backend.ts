/**
 * Picks the fastest TensorFlow.js backend that actually loads on this machine, in this order:
 *
 * 1. `tensorflow-gpu` — `@tensorflow/tfjs-node-gpu` (libtensorflow + CUDA), only when an NVIDIA GPU
 *    is visible (`/dev/nvidia0` or `nvidia-smi`);
 * 2. `tensorflow` — `@tensorflow/tfjs-node` (libtensorflow on the CPU);
 * 3. `webgpu` — `@tensorflow/tfjs-backend-webgpu` on the `webgpu` package's Dawn bindings, only when
 *    Dawn finds an adapter;
 * 4. `wasm` — `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD) plus genrelens' training kernels
 *    (`wasm-kernels/`);
 * 5. `cpu` — the pure-JS backend inside `@tensorflow/tfjs` (always loads; far too slow to train).
 *
 * Every loader catches every failure (package missing, `.node` binary missing, CUDA libraries
 * missing, no adapter, backend init failing) and records why, so the log says why each better
 * backend was skipped. All packages must be the exact version of `@tensorflow/tfjs` and resolve the
 * same `@tensorflow/tfjs-core` file, so there is one engine and one kernel registry.
 *
 * Callers use the `tf` exported here (it is the same module instance as `import * as tf from
 * '@tensorflow/tfjs'`, so importing that directly is equivalent).
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { BackendInfo } from '../contract/contract.ts';
import type { Effects } from '../core/effects.ts';
import { UserError } from '../core/errors.ts';
import { loadNativeKernels, nativeKernelsWanted, type NativeKernels } from './native-kernels.ts';
import { registerWasmTrainingKernels, WASM_KERNELS } from './wasm-kernels/index.ts';

export { tf };

export const BACKEND_CHOICES = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendAttempt {
  backend: string;
  ok: boolean;
  reason?: string;
}

/**
 * What `selectBackend` reports (the run metadata's `backend`, defined by the data contract):
 * `name` is `tf.getBackend()`; `device` the CPU model or GPU adapter; `threads` the CPU threads it
 * computes with; `attempts` every backend tried, best first, with why each skipped one did not load;
 * `customKernels` the kernels genrelens registered (wasm only).
 */
export type { BackendInfo };

export interface SelectBackendOptions {
  force?: BackendChoice;
  effects: Effects;
}

const require = createRequire(import.meta.url);

/** What a successful loader reports (the rest of BackendInfo is filled in by selectBackend). */
type Loaded = Omit<BackendInfo, 'attempts'>;

/** A failure with a one-line reason for the log, and how to fix it when the backend was forced. */
class LoadFailure extends Error {
  readonly fix: string;
  constructor(reason: string, fix: string) {
    super(reason);
    this.fix = fix;
  }
}

const TFJS_VERSION = tf.version.tfjs;

function cpuDevice(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.trim() || os.arch();
  return `${model} (${cpus.length} logical cores)`;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].trim();
}

/**
 * Resolves `name`'s package.json and checks it is the version of @tensorflow/tfjs and uses the same
 * @tensorflow/tfjs-core file (one engine). Returns the version.
 */
function checkPackage(name: string, installFix: string): string {
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${name}/package.json`);
  } catch {
    throw new LoadFailure(`${name} is not installed`, installFix);
  }
  const version = (require(pkgJson) as { version: string }).version;
  if (version !== TFJS_VERSION) {
    throw new LoadFailure(
      `${name} ${version} does not match @tensorflow/tfjs ${TFJS_VERSION} (mixed versions mean two tfjs-core engines)`,
      `install ${name}@${TFJS_VERSION} exactly (the same version as @tensorflow/tfjs)`,
    );
  }
  let theirCore: string | undefined;
  try {
    theirCore = createRequire(pkgJson).resolve('@tensorflow/tfjs-core');
  } catch {
    // It may not depend on tfjs-core directly; the version check above is what remains.
  }
  const ourCore = require.resolve('@tensorflow/tfjs-core');
  if (theirCore && theirCore !== ourCore) {
    throw new LoadFailure(
      `${name} resolves its own @tensorflow/tfjs-core (${theirCore}), a second engine`,
      `dedupe: remove node_modules and reinstall so every @tensorflow/* package shares one tfjs-core ${TFJS_VERSION}`,
    );
  }
  return version;
}

/** tf.setBackend(name), treating `false` and throws alike. */
async function activate(name: string, fix: string): Promise<void> {
  let ok = false;
  let why = '';
  // tfjs logs a failed backend init with console.warn before returning false; keep it out of the
  // build log (the reason lands in `attempts` instead).
  const warn = console.warn;
  const seen: string[] = [];
  console.warn = (...args: unknown[]) => {
    seen.push(args.map((a) => firstLine(a)).join(' '));
  };
  try {
    ok = await tf.setBackend(name);
  } catch (error) {
    why = firstLine(error);
  } finally {
    console.warn = warn;
  }
  if (!ok || tf.getBackend() !== name) {
    const detail = why || seen.filter((s) => !/^Initialization of backend/.test(s)).join('; ') || 'initialisation failed';
    throw new LoadFailure(`tf.setBackend('${name}') failed: ${detail}`, fix);
  }
}

function cudaVisible(): string | null {
  if (existsSync('/dev/nvidia0')) return '/dev/nvidia0';
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim().split('\n')[0] || 'nvidia-smi';
  } catch {
    return null;
  }
}

function gpuName(fallback: string): string {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim().split('\n')[0] || fallback;
  } catch {
    return fallback;
  }
}

/** Loads a libtensorflow binding package (tfjs-node or tfjs-node-gpu) and activates 'tensorflow'. */
async function loadNative(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu', device: string): Promise<Loaded> {
  const gpu = pkg.endsWith('-gpu');
  const installFix = gpu
    ? `install ${pkg}@${TFJS_VERSION} on a machine with internet access (its install script downloads libtensorflow) and CUDA 11.2 + cuDNN 8.1, or omit --backend to use the best backend that loads`
    : `install ${pkg}@${TFJS_VERSION} on a machine with internet access (its install script downloads libtensorflow 2.9.1; it cannot be installed offline), or omit --backend to use the best backend that loads`;
  const version = checkPackage(pkg, installFix);
  try {
    // Loading the binding registers the 'tensorflow' backend with this engine. Any throw here —
    // missing tfjs_binding.node, missing libtensorflow.so, missing libcudart/libcudnn — is caught.
    require(pkg);
  } catch (error) {
    throw new LoadFailure(`${pkg} failed to load: ${firstLine(error)}`, installFix);
  }
  if (!tf.findBackendFactory('tensorflow')) {
    throw new LoadFailure(`${pkg} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs`, installFix);
  }
  await activate('tensorflow', installFix);
  return {
    name: 'tensorflow',
    package: pkg,
    version,
    device: gpu ? gpuName(device) : cpuDevice(),
    threads: os.cpus().length,
    simd: true,
    customKernels: [],
  };
}

async function loadTensorflowGpu(): Promise<Loaded> {
  const device = cudaVisible();
  if (!device) {
    throw new LoadFailure(
      'no CUDA GPU visible (no /dev/nvidia0, nvidia-smi not found or failed)',
      'run on a machine with an NVIDIA GPU, its driver, CUDA 11.2 and cuDNN 8.1, or omit --backend',
    );
  }
  return loadNative('@tensorflow/tfjs-node-gpu', device);
}

async function loadTensorflow(): Promise<Loaded> {
  return loadNative('@tensorflow/tfjs-node', '');
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface GpuLike {
  requestAdapter(options?: object): Promise<GpuAdapterLike | null>;
}

const VULKAN_LOADER = 'libvulkan.so.1';

/**
 * Whether Linux's dynamic loader can find the Vulkan loader that Dawn opens: in a folder of
 * LD_LIBRARY_PATH or in ldconfig's cache. Without it Dawn has no adapter on Linux and says so itself,
 * from native code straight to stderr, each time it is asked; so it is asked only where it can answer.
 */
function vulkanLoaderFound(): boolean {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((dir) => existsSync(path.join(dir, VULKAN_LOADER)))) return true;
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      const cache = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
      return cache.includes(VULKAN_LOADER);
    } catch {
      // not at this path; try the next
    }
  }
  return false;
}

async function loadWebgpu(): Promise<Loaded> {
  const fix =
    'WebGPU needs a GPU with Vulkan (Linux), Metal (macOS) or D3D12 (Windows) drivers and the optional `webgpu` and @tensorflow/tfjs-backend-webgpu packages; omit --backend to use the best backend that loads';
  const version = checkPackage('@tensorflow/tfjs-backend-webgpu', `install @tensorflow/tfjs-backend-webgpu@${TFJS_VERSION}; ${fix}`);
  if (process.platform === 'linux' && !vulkanLoaderFound()) {
    throw new LoadFailure(`no Vulkan loader (${VULKAN_LOADER}) on this machine, so Dawn can have no GPU adapter`, fix);
  }
  let dawn: { create(flags: string[]): GpuLike; globals: object };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (error) {
    throw new LoadFailure(`the webgpu package (Dawn bindings) failed to load: ${firstLine(error)}`, fix);
  }
  let gpu: GpuLike;
  let adapter: GpuAdapterLike | null;
  try {
    gpu = dawn.create([]);
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    throw new LoadFailure(`Dawn could not be queried for an adapter: ${firstLine(error)}`, fix);
  }
  if (!adapter) throw new LoadFailure('Dawn found no WebGPU adapter (no Vulkan/Metal/D3D12 GPU)', fix);
  // tfjs-backend-webgpu reads the browser globals (navigator.gpu, GPUBufferUsage, ...).
  Object.assign(globalThis, dawn.globals);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  let webgpuModule: { WebGPUBackend?: new (device: unknown, info?: unknown) => tf.KernelBackend };
  try {
    webgpuModule = require('@tensorflow/tfjs-backend-webgpu');
  } catch (error) {
    throw new LoadFailure(`@tensorflow/tfjs-backend-webgpu failed to load: ${firstLine(error)}`, fix);
  }
  // The package registers 'webgpu' on import only if navigator.gpu existed then.
  if (!tf.findBackendFactory('webgpu') && webgpuModule.WebGPUBackend) {
    const Backend = webgpuModule.WebGPUBackend;
    tf.registerBackend(
      'webgpu',
      async () => {
        const a = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) as
          (GpuAdapterLike & { requestDevice(d?: object): Promise<unknown> }) | null;
        if (!a) throw new Error('no WebGPU adapter');
        return new Backend(await a.requestDevice(), a.info);
      },
      3,
    );
  }
  await activate('webgpu', fix);
  const info = adapter.info ?? {};
  const device = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'WebGPU adapter';
  return { name: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', version, device, threads: 1, simd: false, customKernels: [] };
}

async function loadWasm(): Promise<Loaded> {
  const fix = `reinstall @tensorflow/tfjs-backend-wasm@${TFJS_VERSION} (npm ci), or use --backend cpu`;
  const version = checkPackage('@tensorflow/tfjs-backend-wasm', fix);
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    throw new LoadFailure(`@tensorflow/tfjs-backend-wasm failed to load: ${firstLine(error)}`, fix);
  }
  // The .wasm binaries sit next to the package's main file (dist/); Node reads them from disk.
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  if (!('wasm' in tf.engine().registry)) {
    try {
      wasm.setWasmPaths(`${dist}${path.sep}`);
    } catch (error) {
      // Thrown when an earlier initialisation in this process aborted.
      throw new LoadFailure(`setWasmPaths failed: ${firstLine(error)}`, fix);
    }
  }
  // Threads: the package reports WASM_HAS_MULTITHREAD_SUPPORT=false under Node (its pthread worker
  // is loaded from a blob: URL, which Node's worker_threads rejects), so the build is single-threaded
  // SIMD. Run two processes to use two cores.
  const { engine, productKernels } = wasmProductKernels();
  const customKernels = registerWasmTrainingKernels({ native: engine });
  await activate('wasm', fix);
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  let threads = 1;
  try {
    threads = wasm.getThreadsCount();
  } catch {
    // not initialised: keep 1
  }
  return { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', version, device: cpuDevice(), threads, simd, customKernels, productKernels };
}

/**
 * The wasm backend's matrix products and convolutions go to onnxruntime-node's native kernels when
 * that package loads (an optional dependency; pipeline/lib/engine/native-kernels.ts), else stay on XNNPACK.
 */
function wasmProductKernels(): { engine: NativeKernels | null; productKernels: string } {
  if (!nativeKernelsWanted()) return { engine: null, productKernels: 'XNNPACK (wasm; GENRELENS_NATIVE_KERNELS=0)' };
  try {
    const engine = loadNativeKernels();
    return { engine, productKernels: engine.name };
  } catch (error) {
    return { engine: null, productKernels: `XNNPACK (wasm; native kernels unavailable: ${firstLine(error)})` };
  }
}

async function loadCpu(): Promise<Loaded> {
  await activate('cpu', 'the cpu backend ships inside @tensorflow/tfjs; reinstall it (npm ci)');
  return {
    name: 'cpu',
    package: '@tensorflow/tfjs-backend-cpu',
    version: tf.version['tfjs-backend-cpu'] ?? TFJS_VERSION,
    device: cpuDevice(),
    threads: 1,
    simd: false,
    customKernels: [],
  };
}

const LOADERS: Record<BackendChoice, () => Promise<Loaded>> = {
  'tensorflow-gpu': loadTensorflowGpu,
  tensorflow: loadTensorflow,
  webgpu: loadWebgpu,
  wasm: loadWasm,
  cpu: loadCpu,
};

const PACKAGES: Record<BackendChoice, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** Checks a user-supplied backend name (CLI flag, config) and returns it typed. */
export function parseBackendChoice(value: string, where: { file?: string; line?: number } = {}): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new UserError(`unknown backend '${value}'`, { ...where, fix: `use one of: ${BACKEND_CHOICES.join(', ')}` });
}

let current: { force: BackendChoice | undefined; info: BackendInfo } | undefined;

function describe(info: Loaded): string {
  const parts = [`${info.package} ${info.version}`, info.device];
  if (info.name === 'wasm') parts.push(`${info.simd ? 'SIMD' : 'no SIMD'}, ${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  if (info.customKernels.length) parts.push(`${info.customKernels.length} genrelens kernels`);
  if (info.productKernels) parts.push(`matrix products and convolutions: ${info.productKernels}`);
  return parts.join(', ');
}

/**
 * Selects and activates a backend (see the module comment for the order). With `force`, only that
 * backend is tried and a failure throws a UserError saying how to fix it. Calling again with the same
 * `force` while that backend is still active returns the same info without re-probing.
 */
export async function selectBackend(options: SelectBackendOptions): Promise<BackendInfo> {
  const { force, effects } = options;
  if (force !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(force)) parseBackendChoice(force);
  if (current && current.force === force && tf.getBackend() === current.info.name) return current.info;

  const order: BackendChoice[] = force ? [force] : [...BACKEND_CHOICES];
  const attempts: BackendAttempt[] = [];
  for (const choice of order) {
    const started = effects.now();
    try {
      const loaded = await LOADERS[choice]();
      attempts.push({ backend: choice, ok: true });
      const info: BackendInfo = { ...loaded, attempts };
      const skipped = attempts.filter((a) => !a.ok);
      effects.info(`tfjs backend: ${loaded.name} (${describe(loaded)})${force ? ' [forced]' : ''} in ${Math.round(effects.now() - started)} ms`);
      for (const a of skipped) effects.info(`  skipped ${a.backend}: ${a.reason}`);
      if (loaded.customKernels.length) {
        const added = loaded.customKernels.filter((k) => WASM_KERNELS.missing.includes(k));
        const replaced = loaded.customKernels.filter((k) => !added.includes(k));
        effects.info(`  wasm kernels added (missing for training): ${added.join(', ')}; replaced (slow): ${replaced.join(', ')}`);
      }
      if (loaded.name === 'cpu' && !force) {
        effects.warn('training on the pure-JS cpu backend is extremely slow (minutes per batch); fix the wasm backend above');
      }
      current = { force, info };
      return info;
    } catch (error) {
      const reason = firstLine(error);
      attempts.push({ backend: choice, ok: false, reason });
      if (force) {
        const fix = error instanceof LoadFailure ? error.fix : `check that ${PACKAGES[choice]} ${TFJS_VERSION} is installed`;
        throw new UserError(`backend '${choice}' (${PACKAGES[choice]}) could not be used: ${reason}`, { fix });
      }
    }
  }
  // Unreachable in practice: the cpu backend ships inside @tensorflow/tfjs.
  throw new UserError(`no TensorFlow.js backend could be loaded: ${attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ')}`, {
    fix: 'reinstall dependencies (npm ci)',
  });
}
