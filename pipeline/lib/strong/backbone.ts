/**
 * The optional pretrained poster backbone (`--poster-backbone`): the MobileNetV2 that the npm package
 * `nsfwjs` ships inside itself (ImageNet-initialised; nsfwjs fine-tuned its later blocks for another
 * task, whose classes genrelens never uses). A poster's features are the global averages of three
 * blocks' outputs at 160 × 160 (bilinear): `npm run bench:backbone` measured these blocks, less
 * specialised than the last ones, and what they add to the strong poster model. 160, not the
 * network's 224: on the shared data's training films the out-of-fold mAP was 0.243 against 0.253
 * (the stacked fusion's 0.416 against 0.419) for half the time, which keeps the strong stage from an
 * empty cache within its 3-minute budget on 2 cores.
 *
 * The network runs folded for inference: each batch normalisation is folded into the convolution
 * before it, each zero padding into the convolution after it, and each ReLU6 fused into the
 * convolution (./folded-network.ts), which computes the same features in about a third of the
 * time; with onnxruntime-node the folded network runs as one ONNX graph (./backbone-onnx.ts), about
 * three times faster again per batch. Nothing is downloaded: the weights are read from the installed
 * package, and a missing package is a user error that names the fix.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../core/errors.ts';
import { loadNativeModel, nativeKernelsWanted, onnxRuntimeLoads } from '../engine/native-kernels.ts';
import { backboneOnnx, BACKBONE_ONNX_INPUT, BACKBONE_ONNX_OUTPUT } from './backbone-onnx.ts';
import { foldedNetwork } from './folded-network.ts';
import type { BackboneProvenance } from '../contract/contract.ts';

export type { BackboneProvenance };

/** What the features are, recorded in strong.json and strong-model.json (the key of the features' cache). */
export const BACKBONE = {
  package: 'nsfwjs',
  model: 'MobileNetV2',
  blocks: ['block_9_add', 'block_12_add', 'block_15_add'],
  inputSize: 160,
  resizeKernel: 'linear',
} as const;

/**
 * What computes the network: ONNX Runtime, the whole network as one graph (./backbone-onnx.ts; about
 * three times faster here), or tfjs' kernels on the build's backend. Their features agree to float32
 * rounding, not to the bit.
 */
export type BackboneEngine = 'onnxruntime' | 'tfjs';

/** ONNX Runtime when it loads (and GENRELENS_NATIVE_KERNELS is not 0), else tfjs. */
export function backboneEngine(): BackboneEngine {
  return nativeKernelsWanted() && onnxRuntimeLoads() ? 'onnxruntime' : 'tfjs';
}

/** What identifies the backbone's features before they are computed (cache keys): BACKBONE, the installed package's version, the engine. */
export type BackboneSpec = typeof BACKBONE & { version: string; engine: BackboneEngine };

export function backboneSpec(version: string, engine: BackboneEngine): BackboneSpec {
  return { ...BACKBONE, version, engine };
}

export interface Backbone {
  provenance: BackboneProvenance;
  engine: BackboneEngine;
  /** Pooled features of a batch of `n` posters, float32 in [0, 1], NHWC [n, size, size, 3] → [n, features]. */
  features(batch: Float32Array, n: number): Float32Array;
  dispose(): void;
}

interface ModelFiles {
  modelTopology: object;
  weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
}

/** The installed nsfwjs package's folder and version, or a user error naming the fix. */
export function backbonePackage(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(BACKBONE.package);
  } catch {
    throw new UserError(`the poster backbone needs the optional package ${BACKBONE.package}, which is not installed`, {
      fix: 'run npm install (it installs optional packages), or build with --poster-backbone off',
    });
  }
  let dir = dirname(entry);
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === BACKBONE.package) return { dir, version: String(pkg.version) };
    } catch {
      // not the package root yet
    }
    const up = dirname(dir);
    if (up === dir) throw new UserError(`cannot find the folder of the installed ${BACKBONE.package} package`, { fix: 'reinstall it with npm install' });
    dir = up;
  }
}

/** The package's MobileNetV2 as nsfwjs ships it (a Keras model, batch normalisations unfolded), and the package version. */
export async function loadBackboneNetwork(): Promise<{ network: tf.LayersModel; version: string }> {
  const { dir, version } = backbonePackage();
  const modelDir = join(dir, 'dist', 'models', 'mobilenet_v2');
  const require = createRequire(import.meta.url);
  let files: ModelFiles;
  let shard: string;
  try {
    files = require(join(modelDir, 'model.min.js')) as ModelFiles;
    shard = require(join(modelDir, 'group1-shard1of1.min.js')) as string;
  } catch (error) {
    throw new UserError(`cannot read MobileNetV2 from ${modelDir} (${(error as Error).message})`, { fix: `reinstall ${BACKBONE.package} with npm install` });
  }
  const bytes = Buffer.from(shard, 'base64');
  const network = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: files.modelTopology,
      weightSpecs: files.weightsManifest.flatMap((group) => group.weights),
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    }),
  );
  return { network, version };
}

/** Loads the backbone from the installed package (no download), folded for inference, on `engine`. */
export async function loadBackbone(engine: BackboneEngine = backboneEngine(), size: number = BACKBONE.inputSize): Promise<Backbone> {
  const { network, version } = await loadBackboneNetwork();
  const folded = foldedNetwork(network, [...BACKBONE.blocks]);
  network.dispose();
  const width = folded.channels.reduce((a, b) => a + b, 0);
  const provenance = {
    package: BACKBONE.package,
    version,
    model: BACKBONE.model,
    blocks: [...BACKBONE.blocks],
    channels: folded.channels,
    inputSize: size,
    features: width,
  };
  if (engine === 'onnxruntime') {
    const model = loadNativeModel(backboneOnnx(folded.steps, folded.outputSteps, size), BACKBONE_ONNX_INPUT, BACKBONE_ONNX_OUTPUT);
    folded.dispose();
    return {
      provenance,
      engine,
      features(batch, n) {
        const out = new Float32Array(n * width);
        model.run(batch, [n, size, size, 3], out, [n, width]);
        return out;
      },
      dispose: () => model.dispose(),
    };
  }
  return {
    provenance,
    engine,
    features(batch, n) {
      const pooled = tf.tidy(() =>
        tf.concat(
          folded.apply(tf.tensor4d(batch, [n, size, size, 3])).map((t) => tf.mean(t, [1, 2])),
          1,
        ),
      );
      const data = pooled.dataSync() as Float32Array;
      pooled.dispose();
      return data;
    },
    dispose: () => folded.dispose(),
  };
}

/** Names of the backbone's feature columns, e.g. "MobileNetV2 block_9_add #12". */
export function backboneFeatureNames(provenance: BackboneProvenance): string[] {
  return provenance.blocks.flatMap((block, b) => Array.from({ length: provenance.channels[b] }, (_, c) => `${provenance.model} ${block} #${c}`));
}
