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
 * convolution (`foldedNetwork`), which computes the same features in about a third of the time; with
 * onnxruntime-node the folded network runs as one ONNX graph (./backbone-onnx.ts), about three times
 * faster again. Nothing is downloaded: the weights are read from the installed package, and a missing package is a user error
 * that names the fix.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../core/errors.ts';
import { loadNativeModel, nativeKernelsWanted, onnxRuntimeLoads } from '../engine/native-kernels.ts';
import { backboneOnnx, BACKBONE_ONNX_INPUT, BACKBONE_ONNX_OUTPUT } from './backbone-onnx.ts';
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

/** A network computed with plain tf ops from folded weights: `apply` returns the named layers' outputs. */
export interface FoldedNetwork {
  apply(x: tf.Tensor4D): tf.Tensor4D[];
  /** Channels of each output. */
  channels: number[];
  /** The plan `apply` follows, in order, and the steps whose values are the outputs (./backbone-onnx.ts writes it as one graph). */
  steps: readonly FoldedStep[];
  outputSteps: string[];
  dispose(): void;
}

type Pads = [[number, number], [number, number], [number, number], [number, number]];
export type FoldedStep = Step;
type Step =
  | { kind: 'input'; name: string }
  | {
      kind: 'conv';
      name: string;
      input: string;
      depthwise: boolean;
      filter: tf.Tensor4D;
      bias: tf.Tensor1D;
      strides: [number, number];
      /** Explicit padding only for a (non-depthwise) convolution that absorbed a ZeroPadding2D. */
      pad: 'same' | 'valid' | Pads;
      relu6: boolean;
    }
  | { kind: 'add'; name: string; inputs: string[] }
  | { kind: 'pad'; name: string; input: string; pads: Pads }
  | { kind: 'relu6'; name: string; input: string };

const inboundNames = (layer: tf.layers.Layer): string[] => layer.inboundNodes[0]?.inboundLayers.map((l) => l.name) ?? [];

/**
 * Folds a Keras-style convolutional network (InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D,
 * BatchNormalization, ReLU, Add) into convolutions with bias and fused ReLU6, up to `outputs`: for a
 * convolution W followed by a batch normalisation (γ, β, mean, variance, ε) whose only input it is,
 * W' = W · s and b' = (b − mean) · s + β per output channel, with s = γ / √(variance + ε). Any other
 * layer on the way is an error (this is an inference plan for MobileNet-like networks only).
 */
export function foldedNetwork(model: tf.LayersModel, outputs: string[]): FoldedNetwork {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const consumers = new Map<string, string[]>();
  for (const layer of model.layers) for (const from of inboundNames(layer)) consumers.set(from, [...(consumers.get(from) ?? []), layer.name]);
  // The layers the outputs need, in the model's (topological) order.
  const needed = new Set<string>();
  const visit = (name: string) => {
    if (needed.has(name)) return;
    if (!byName.has(name)) throw new Error(`foldedNetwork: no layer ${name}`);
    needed.add(name);
    inboundNames(byName.get(name)!).forEach(visit);
  };
  outputs.forEach(visit);

  const steps: Step[] = [];
  /** Layer name → the step whose value stands for it (folded layers stand for their convolution). */
  const alias = new Map<string, string>();
  const source = (name: string) => alias.get(name) ?? name;
  const tensors: tf.Tensor[] = [];
  for (const layer of model.layers.filter((l) => needed.has(l.name))) {
    const config = layer.getConfig() as Record<string, unknown>;
    const className = layer.getClassName();
    const inputs = inboundNames(layer);
    if (className === 'InputLayer') {
      steps.push({ kind: 'input', name: layer.name });
    } else if (className === 'ZeroPadding2D') {
      const [[top, bottom], [left, right]] = config.padding as [[number, number], [number, number]];
      steps.push({
        kind: 'pad',
        name: layer.name,
        input: source(inputs[0]),
        pads: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
      });
    } else if (className === 'Conv2D' || className === 'DepthwiseConv2D') {
      const depthwise = className === 'DepthwiseConv2D';
      if ((config.activation ?? 'linear') !== 'linear') throw new Error(`foldedNetwork: ${layer.name} has an activation`);
      const [kernel, convBias] = layer.getWeights();
      let pad: 'same' | 'valid' | Pads = config.padding as 'same' | 'valid';
      let input = source(inputs[0]);
      const previous = steps.find((s) => s.name === input);
      // tfjs' depthwise convolution takes no explicit padding: its ZeroPadding2D stays a step.
      if (!depthwise && previous?.kind === 'pad' && pad === 'valid' && consumers.get(previous.name)?.length === 1) {
        pad = previous.pads;
        input = previous.input;
        steps.splice(steps.indexOf(previous), 1);
      }
      const strides = config.strides as [number, number];
      const next = consumers.get(layer.name) ?? [];
      const bn = next.length === 1 && needed.has(next[0]) ? byName.get(next[0])! : null;
      // getWeights() gives the layer's own variables' values: fold copies, never them.
      let filter = kernel.clone() as tf.Tensor4D;
      let bias = (convBias ? convBias.clone() : tf.zeros([depthwise ? kernel.shape[2]! * kernel.shape[3]! : kernel.shape[3]!])) as tf.Tensor1D;
      if (bn?.getClassName() === 'BatchNormalization') {
        const bnConfig = bn.getConfig() as { epsilon: number; center: boolean; scale: boolean };
        const weights = bn.getWeights();
        let w = 0;
        const gamma = bnConfig.scale ? weights[w++] : null;
        const beta = bnConfig.center ? weights[w++] : null;
        const [mean, variance] = [weights[w], weights[w + 1]];
        const folded = tf.tidy(() => {
          const inverse = variance.add(bnConfig.epsilon).rsqrt();
          const s = gamma ? gamma.mul(inverse) : inverse;
          const f = depthwise ? filter.mul(s.reshape([1, 1, filter.shape[2], filter.shape[3]])) : filter.mul(s);
          const shifted = bias.sub(mean).mul(s);
          return [f, beta ? shifted.add(beta) : shifted];
        }) as [tf.Tensor4D, tf.Tensor1D];
        tf.dispose([filter, bias]);
        [filter, bias] = folded;
        alias.set(bn.name, layer.name);
      }
      tensors.push(filter, bias);
      steps.push({ kind: 'conv', name: layer.name, input, depthwise, filter, bias, strides, pad, relu6: false });
    } else if (className === 'BatchNormalization') {
      if (!alias.has(layer.name)) throw new Error(`foldedNetwork: ${layer.name} does not follow a convolution`);
    } else if (className === 'ReLU') {
      if (config.maxValue !== 6) {
        throw new Error(`foldedNetwork: ${layer.name} is not a plain ReLU6`);
      }
      const from = source(inputs[0]);
      const conv = steps.find((s) => s.name === from);
      if (conv?.kind === 'conv' && !conv.relu6 && (consumers.get(inputs[0]) ?? []).length === 1) {
        conv.relu6 = true;
        alias.set(layer.name, conv.name);
      } else {
        steps.push({ kind: 'relu6', name: layer.name, input: from });
      }
    } else if (className === 'Add') {
      steps.push({ kind: 'add', name: layer.name, inputs: inputs.map(source) });
    } else {
      throw new Error(`foldedNetwork: cannot fold a ${className} layer (${layer.name})`);
    }
  }
  const outputSteps = outputs.map(source);
  const channels = outputs.map((name) => {
    const shape = byName.get(name)!.outputShape as number[];
    return shape[shape.length - 1];
  });
  return {
    channels,
    steps,
    outputSteps,
    apply(x) {
      return tf.tidy(() => {
        const values = new Map<string, tf.Tensor4D>();
        for (const step of steps) {
          let value: tf.Tensor4D;
          if (step.kind === 'input') value = x;
          else if (step.kind === 'pad') value = tf.pad(values.get(step.input)!, step.pads);
          else if (step.kind === 'relu6') value = tf.relu6(values.get(step.input)!);
          else if (step.kind === 'add') value = tf.addN(step.inputs.map((i) => values.get(i)!)) as tf.Tensor4D;
          else {
            const activation = step.relu6 ? 'relu6' : 'linear';
            const input = values.get(step.input)!;
            const { filter, strides, pad, bias } = step;
            if (!step.depthwise) value = tf.fused.conv2d({ x: input, filter, strides, pad, bias, activation });
            else if (typeof pad === 'string') value = tf.fused.depthwiseConv2d({ x: input, filter, strides, pad, bias, activation });
            else throw new Error(`foldedNetwork: ${step.name} is depthwise with explicit padding`);
          }
          values.set(step.name, value);
        }
        return outputSteps.map((name) => values.get(name)!);
      });
    },
    dispose: () => tf.dispose(tensors),
  };
}
