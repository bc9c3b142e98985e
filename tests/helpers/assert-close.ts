/**
 * Closeness of two float arrays as the speed-path tests mean it: every element within `tolerance`
 * (default 1e-5) of the reference, relative to the reference's largest magnitude. A reference of all
 * zeros fails, because the comparison would prove nothing.
 */
import assert from 'node:assert/strict';

export function assertCloseToScale(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: lengths differ`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  assert.ok(scale > 0, `${what}: the reference is all zeros, so the comparison would prove nothing`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / scale;
    assert.ok(error <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (relative error ${error.toExponential(2)})`);
  }
}
