/**
 * A model's architecture as the rows of Keras' `model.summary()` — layer name, layer class, output
 * shape written the Keras way ("(None, 32, 32, 16)") and parameter count — plus the totals.
 *
 * As in Keras, a functional model (the CNN) lists its InputLayer and a Sequential model (the LSTM)
 * does not. Layer classes are tfjs' class names, which are Keras' (Conv2D, MaxPooling2D, Dense,
 * Dropout, Flatten, Embedding, Bidirectional, InputLayer).
 */
import * as tf from '@tensorflow/tfjs';

export interface ArchitectureRow {
  layer: string;
  type: string;
  outputShape: string;
  params: number;
}

export interface ArchitectureTable {
  rows: ArchitectureRow[];
  totalParams: number;
  trainableParams: number;
}

type Shape = (number | null)[];

/** `[null, 32, 32, 16]` → `"(None, 32, 32, 16)"`; several outputs → `"[(…), (…)]"`. */
export function formatShape(shape: Shape | Shape[]): string {
  const one = (s: Shape) => `(${s.map((d) => (d == null ? 'None' : String(d))).join(', ')}${s.length === 1 ? ',' : ''})`;
  if (shape.length > 0 && Array.isArray(shape[0])) {
    const shapes = shape as Shape[];
    return shapes.length === 1 ? one(shapes[0]) : `[${shapes.map(one).join(', ')}]`;
  }
  return one(shape as Shape);
}

function weightCount(weights: readonly tf.LayerVariable[]): number {
  return weights.reduce((sum, w) => sum + w.shape.reduce<number>((n, d) => n * (d ?? 0), 1), 0);
}

export function architectureTable(model: tf.LayersModel): ArchitectureTable {
  const sequential = model instanceof tf.Sequential;
  const rows = model.layers
    .filter((layer) => !(sequential && layer.getClassName() === 'InputLayer'))
    .map((layer) => ({
      layer: layer.name,
      type: layer.getClassName(),
      outputShape: formatShape(layer.outputShape as Shape | Shape[]),
      params: layer.countParams(),
    }));
  return { rows, totalParams: model.countParams(), trainableParams: weightCount(model.trainableWeights) };
}

/** The table as Keras prints it (plain text, for logs and tests). */
export function formatArchitecture(table: ArchitectureTable): string {
  const grouped = (n: number) => n.toLocaleString('en-US');
  const header = ['Layer (type)', 'Output Shape', 'Param #'];
  const body = table.rows.map((r) => [`${r.layer} (${r.type})`, r.outputShape, grouped(r.params)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [
    line(header),
    ...body.map(line),
    `Total params: ${grouped(table.totalParams)}`,
    `Trainable params: ${grouped(table.trainableParams)}`,
    `Non-trainable params: ${grouped(table.totalParams - table.trainableParams)}`,
  ].join('\n');
}
