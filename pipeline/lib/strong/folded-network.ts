/**
 * A Keras-style convolutional network (the poster backbone's MobileNetV2) folded for inference: each
 * batch normalisation folded into the convolution before it, paddings and ReLU6 into the
 * convolutions (`foldedNetwork`). The plan runs on tfjs (`apply`) or, written as one ONNX graph, on
 * ONNX Runtime (./backbone-onnx.ts); ./backbone.ts loads the network and picks the engine.
 */
import * as tf from '@tensorflow/tfjs';

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
