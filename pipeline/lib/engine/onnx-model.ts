/**
 * A minimal ONNX model writer: the protobuf fields of ModelProto, GraphProto, NodeProto,
 * AttributeProto, ValueInfoProto and TensorProto that genrelens' graphs need, hand-encoded (no ONNX
 * tooling). Parts are byte arrays, joined once, so a network's weights (megabytes) are copied, not
 * spread into JavaScript arrays. Used for the native kernels' one-operation graphs
 * (./native-kernels.ts) and the poster backbone's whole network (../strong/backbone-onnx.ts).
 */

type Bytes = Uint8Array;

/** TensorProto.DataType. */
export const ONNX_TYPE = { float: 1, int64: 7, double: 11 } as const;

function join(parts: readonly Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let n = value;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return bytes;
}

/** A varint field (wire type 0); negative values as ten-byte two's complement, as protobuf encodes int64. */
function intField(field: number, value: number): Bytes {
  if (value >= 0) return Uint8Array.from([...varint(field * 8), ...varint(value)]);
  const bytes: number[] = [];
  let n = BigInt.asUintN(64, BigInt(value));
  for (let i = 0; i < 10; i++) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    bytes.push(n > 0n ? byte | 0x80 : byte);
    if (n === 0n) break;
  }
  return Uint8Array.from([...varint(field * 8), ...bytes]);
}

/** A length-delimited field (wire type 2). */
function bytesField(field: number, payload: Bytes | readonly Bytes[]): Bytes {
  const body = payload instanceof Uint8Array ? payload : join(payload);
  return join([Uint8Array.from([...varint(field * 8 + 2), ...varint(body.length)]), body]);
}

const stringField = (field: number, text: string) => bytesField(field, new TextEncoder().encode(text));

const ATTRIBUTE = { float: 1, int: 2, string: 3, ints: 7 } as const;

/** AttributeProto of an int, a list of ints, or a string. */
export function attribute(name: string, value: number | readonly number[] | string): Bytes {
  if (typeof value === 'string') return bytesField(5, [stringField(1, name), bytesField(4, new TextEncoder().encode(value)), intField(20, ATTRIBUTE.string)]);
  if (typeof value === 'number') return bytesField(5, [stringField(1, name), intField(3, value), intField(20, ATTRIBUTE.int)]);
  return bytesField(5, [stringField(1, name), ...value.map((v) => intField(8, v)), intField(20, ATTRIBUTE.ints)]);
}

/** NodeProto: op(inputs) → outputs, with attributes already encoded. */
export function node(op: string, inputs: readonly string[], outputs: readonly string[], attributes: readonly Bytes[] = []): Bytes {
  return join([...inputs.map((name) => stringField(1, name)), ...outputs.map((name) => stringField(2, name)), stringField(4, op), ...attributes]);
}

/** ValueInfoProto of a tensor of `type` whose dimensions are named (symbolic) or fixed. */
export function valueInfo(name: string, dims: readonly (string | number)[], type: number = ONNX_TYPE.float): Bytes {
  const shape = dims.map((dim) => bytesField(1, typeof dim === 'string' ? stringField(2, dim) : intField(1, dim))); // TensorShapeProto.dim
  const tensorType = [intField(1, type), bytesField(2, shape)]; // TypeProto.Tensor
  return join([stringField(1, name), bytesField(2, bytesField(1, tensorType))]);
}

/** TensorProto of a constant (a graph initializer): float32 or int64 values, little-endian raw data. */
export function tensor(name: string, dims: readonly number[], values: Float32Array | BigInt64Array): Bytes {
  const raw = new Uint8Array(values.byteLength);
  const view = new DataView(raw.buffer);
  if (values instanceof Float32Array) values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else values.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return join([
    ...dims.map((d) => intField(1, d)),
    intField(2, values instanceof Float32Array ? ONNX_TYPE.float : ONNX_TYPE.int64),
    stringField(8, name),
    bytesField(9, raw),
  ]);
}

export interface Graph {
  nodes: readonly Bytes[];
  initializers?: readonly Bytes[];
  inputs: readonly Bytes[];
  outputs: readonly Bytes[];
}

/** A ModelProto (IR 8, opset 13) of the graph. */
export function onnxModel(name: string, graph: Graph): Uint8Array {
  const body = [
    ...graph.nodes.map((n) => bytesField(1, n)),
    stringField(2, name),
    ...(graph.initializers ?? []).map((t) => bytesField(5, t)),
    ...graph.inputs.map((v) => bytesField(11, v)),
    ...graph.outputs.map((v) => bytesField(12, v)),
  ];
  const opset = [stringField(1, ''), intField(2, 13)];
  return join([intField(1, 8), stringField(2, 'genrelens'), bytesField(8, opset), bytesField(7, body)]);
}
