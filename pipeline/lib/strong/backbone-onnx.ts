/**
 * The folded poster backbone (./folded-network.ts `foldedNetwork`) as one ONNX graph, for ONNX Runtime's
 * native kernels: NHWC pixels in, the pooled block outputs out, in one session call per batch.
 *
 * Why: through tfjs on the wasm backend each of the network's ~50 convolutions is a kernel call of
 * its own, the dense ones handed to ONNX Runtime one at a time between NHWC↔NCHW transposes, the
 * depthwise ones on XNNPACK's 128-bit SIMD. As one graph, ONNX Runtime transposes once, keeps its
 * blocked channel layout from convolution to convolution and runs the depthwise ones on AVX-512 too.
 * The same network: each step maps to one ONNX operator (Conv, with group = channels for a depthwise
 * one; Clip for ReLU6; Add; Pad; GlobalAveragePool), the features equal tfjs' to float32 rounding
 * (tests/strong/backbone.test.ts).
 */
import { attribute, node, onnxModel, tensor, valueInfo } from '../engine/onnx-model.ts';
import type { FoldedStep } from './folded-network.ts';

/** The graph's input (NHWC float32 pixels in [0, 1]) and output (films × features) names. */
export const BACKBONE_ONNX_INPUT = 'pixels';
export const BACKBONE_ONNX_OUTPUT = 'features';

/**
 * The ONNX model of `steps` (./folded-network.ts `FoldedNetwork.steps`, in order) that returns the global
 * averages of the `outputs` steps' values side by side: [n, Σ channels] from NHWC [n, size, size, 3].
 */
export function backboneOnnx(steps: readonly FoldedStep[], outputs: readonly string[], size: number): Uint8Array {
  const nodes: Uint8Array[] = [];
  const initializers: Uint8Array[] = [];
  const constant = (name: string, dims: number[], values: Float32Array | BigInt64Array) => {
    initializers.push(tensor(name, dims, values));
    return name;
  };
  const clipMin = constant('relu6_min', [], Float32Array.of(0));
  const clipMax = constant('relu6_max', [], Float32Array.of(6));
  for (const step of steps) {
    if (step.kind === 'input') {
      nodes.push(node('Transpose', [BACKBONE_ONNX_INPUT], [step.name], [attribute('perm', [0, 3, 1, 2])]));
    } else if (step.kind === 'pad') {
      const [, [top, bottom], [left, right]] = step.pads;
      const pads = constant(`${step.name}_pads`, [8], BigInt64Array.from([0, 0, top, left, 0, 0, bottom, right].map(BigInt)));
      nodes.push(node('Pad', [step.input, pads], [step.name]));
    } else if (step.kind === 'relu6') {
      nodes.push(node('Clip', [step.input, clipMin, clipMax], [step.name]));
    } else if (step.kind === 'add') {
      let sum = step.inputs[0];
      step.inputs.slice(1).forEach((input, i) => {
        const name = i === step.inputs.length - 2 ? step.name : `${step.name}_${i}`;
        nodes.push(node('Add', [sum, input], [name]));
        sum = name;
      });
    } else {
      const [fh, fw, channels, second] = step.filter.shape;
      const values = step.filter.dataSync() as Float32Array;
      const filter = new Float32Array(values.length);
      const outChannels = step.depthwise ? channels * second : second;
      const perOut = step.depthwise ? 1 : channels;
      for (let h = 0; h < fh; h++) {
        for (let w = 0; w < fw; w++) {
          for (let a = 0; a < channels; a++) {
            for (let b = 0; b < second; b++) {
              const from = ((h * fw + w) * channels + a) * second + b;
              const [o, i] = step.depthwise ? [a * second + b, 0] : [b, a];
              filter[((o * perOut + i) * fh + h) * fw + w] = values[from];
            }
          }
        }
      }
      const weights = constant(`${step.name}_w`, [outChannels, perOut, fh, fw], filter);
      const bias = constant(`${step.name}_b`, [outChannels], step.bias.dataSync() as Float32Array);
      const attributes = [attribute('kernel_shape', [fh, fw]), attribute('strides', step.strides), ...(step.depthwise ? [attribute('group', channels)] : [])];
      if (step.pad === 'same') attributes.push(attribute('auto_pad', 'SAME_UPPER'));
      else if (step.pad !== 'valid') {
        const [, [top, bottom], [left, right]] = step.pad;
        attributes.push(attribute('pads', [top, left, bottom, right]));
      }
      const convOut = step.relu6 ? `${step.name}_linear` : step.name;
      nodes.push(node('Conv', [step.input, weights, bias], [convOut], attributes));
      if (step.relu6) nodes.push(node('Clip', [convOut, clipMin, clipMax], [step.name]));
    }
  }
  const pooled = outputs.map((name) => {
    nodes.push(node('GlobalAveragePool', [name], [`${name}_pooled`]));
    nodes.push(node('Flatten', [`${name}_pooled`], [`${name}_flat`], [attribute('axis', 1)]));
    return `${name}_flat`;
  });
  nodes.push(node('Concat', pooled, [BACKBONE_ONNX_OUTPUT], [attribute('axis', 1)]));
  return onnxModel('genrelens_backbone', {
    nodes,
    initializers,
    inputs: [valueInfo(BACKBONE_ONNX_INPUT, ['n', size, size, 3])],
    outputs: [valueInfo(BACKBONE_ONNX_OUTPUT, ['n', 'features'])],
  });
}
