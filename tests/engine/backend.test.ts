import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { BACKEND_CHOICES, parseBackendChoice, selectBackend, tf } from '../../pipeline/lib/engine/backend.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { UserError } from '../../pipeline/lib/core/errors.ts';

tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner

const require = createRequire(import.meta.url);

function installed(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

test('the exported tf is the @tensorflow/tfjs instance', async () => {
  const direct = await import('@tensorflow/tfjs');
  assert.equal(tf.engine(), direct.engine());
  assert.equal(tf.version.tfjs, direct.version.tfjs);
});

test('forcing cpu selects the cpu backend', async () => {
  const effects = recordingEffects();
  const info = await selectBackend({ force: 'cpu', effects });
  assert.equal(info.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(info.package, '@tensorflow/tfjs-backend-cpu');
  assert.equal(info.version, tf.version.tfjs);
  assert.deepEqual(info.attempts, [{ backend: 'cpu', ok: true }]);
  assert.deepEqual(info.customKernels, []);
  assert.ok(info.device.length > 0);
  assert.ok(
    effects.lines.some((l) => l.startsWith('tfjs backend: cpu')),
    effects.lines.join('\n'),
  );
  // Works: a tiny computation on the selected backend.
  assert.deepEqual(Array.from(tf.add(tf.tensor1d([1, 2]), 1).dataSync()), [2, 3]);
});

test('forcing tensorflow when @tensorflow/tfjs-node is missing is a UserError naming the package and the fix', async (t) => {
  if (installed('@tensorflow/tfjs-node')) {
    t.skip('@tensorflow/tfjs-node is installed here');
    return;
  }
  await assert.rejects(selectBackend({ force: 'tensorflow', effects: recordingEffects() }), (error: unknown) => {
    assert.ok(error instanceof UserError, String(error));
    assert.match(error.message, /@tensorflow\/tfjs-node/);
    assert.match(error.message, /not installed/);
    assert.ok(error.fix, 'has a fix');
    assert.match(error.fix, /install @tensorflow\/tfjs-node@4\.22\.0/);
    assert.match(error.format(), /fix: /);
    return true;
  });
});

test('forcing tensorflow-gpu without a CUDA GPU or the package is a UserError with a fix', async (t) => {
  const gpu = existsSync('/dev/nvidia0');
  if (gpu && installed('@tensorflow/tfjs-node-gpu')) {
    t.skip('a GPU and @tensorflow/tfjs-node-gpu are present');
    return;
  }
  await assert.rejects(selectBackend({ force: 'tensorflow-gpu', effects: recordingEffects() }), (error: unknown) => {
    assert.ok(error instanceof UserError, String(error));
    assert.match(error.message, /tensorflow-gpu/);
    assert.match(error.message, /@tensorflow\/tfjs-node-gpu/);
    assert.match(error.message, gpu ? /not installed|failed to load/ : /no CUDA GPU/);
    assert.ok(error.fix);
    return true;
  });
});

test('forcing webgpu without an adapter is a UserError', async (t) => {
  let info;
  try {
    info = await selectBackend({ force: 'webgpu', effects: recordingEffects() });
  } catch (error) {
    assert.ok(error instanceof UserError, String(error));
    assert.match(error.message, /webgpu/);
    assert.ok(error.fix);
    return;
  }
  t.diagnostic(`webgpu loaded here: ${info.device}`);
  assert.equal(info.name, 'webgpu');
});

test('an unknown backend name is a UserError listing the choices', () => {
  assert.throws(
    () => parseBackendChoice('tpu'),
    (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.fix ?? '', /tensorflow-gpu, tensorflow, webgpu, wasm, cpu/);
      return true;
    },
  );
  assert.equal(parseBackendChoice('wasm'), 'wasm');
  assert.deepEqual([...BACKEND_CHOICES], ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu']);
});

test('default selection tries the better backends first and says why each did not load', async () => {
  const effects = recordingEffects();
  const info = await selectBackend({ effects });
  assert.equal(tf.getBackend(), info.name);
  const order = info.attempts.map((a) => a.backend);
  assert.deepEqual(order, BACKEND_CHOICES.slice(0, order.length));
  assert.ok(info.attempts.at(-1)?.ok, 'the last attempt is the one that loaded');
  for (const failed of info.attempts.slice(0, -1)) {
    assert.equal(failed.ok, false);
    assert.ok(failed.reason && failed.reason.length > 0, `${failed.backend} has a reason`);
    assert.ok(
      effects.lines.some((l) => l.includes(`skipped ${failed.backend}: ${failed.reason}`)),
      `log explains ${failed.backend}:\n${effects.lines.join('\n')}`,
    );
  }
  const noNative = !installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu');
  if (noNative && info.attempts.find((a) => a.backend === 'webgpu')?.ok === false) {
    // This machine: no libtensorflow, no GPU adapter → wasm with the training kernels.
    assert.equal(info.name, 'wasm');
    assert.deepEqual(order, ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm']);
    assert.match(info.attempts[1].reason ?? '', /@tensorflow\/tfjs-node is not installed/);
    assert.ok(info.simd);
    assert.equal(info.threads, 1);
    assert.equal(info.package, '@tensorflow/tfjs-backend-wasm');
    assert.equal(info.version, tf.version.tfjs);
    for (const k of ['Conv2DBackpropFilter', 'UnsortedSegmentSum', 'Conv2DBackpropInput', 'BatchMatMul']) {
      assert.ok(info.customKernels.includes(k), k);
    }
    // It can train: the weight gradient of a convolution runs.
    const g = tf.grad((w: tf.Tensor) => tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').sum())(tf.ones([3, 3, 1, 1]));
    assert.deepEqual(g.shape, [3, 3, 1, 1]);
    assert.equal(g.dataSync()[4], 16);
  }
});

test('selecting again with the same choice reuses the active backend; another choice switches', async () => {
  const effects = recordingEffects();
  const first = await selectBackend({ effects });
  const again = await selectBackend({ effects });
  assert.equal(again, first);
  // At most the first call logs (it may itself reuse the previous test's selection).
  assert.ok(effects.lines.filter((l) => l.startsWith('tfjs backend:')).length <= 1, effects.lines.join('\n'));
  const cpu = await selectBackend({ force: 'cpu', effects });
  assert.equal(cpu.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  const back = await selectBackend({ force: first.name === 'wasm' ? 'wasm' : 'cpu', effects });
  assert.equal(tf.getBackend(), back.name);
});
