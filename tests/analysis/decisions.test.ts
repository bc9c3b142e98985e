/**
 * The decision rule (pipeline/lib/analysis/decisions.ts) on literal rows, and its threshold choice
 * against a brute-force search written here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseDecisionRule, decide, genreF1Of, microF1Of, ruleDecisions, THRESHOLD_SHRINKAGE } from '../../pipeline/lib/analysis/decisions.ts';
import { predictionMetrics } from '../../pipeline/lib/core/metrics.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';

test('every film gets 1 to 3 genres: the top one when none is above its threshold, the best 3 when more are', () => {
  const p = [
    [0.1, 0.2, 0.05, 0.0, 0.15], // none above 0.5 → the top one (genre 1)
    [0.9, 0.8, 0.7, 0.6, 0.95], // five above → the best three (4, 0, 1)
    [0.6, 0.1, 0.55, 0.2, 0.1], // two above → both
  ].flat();
  assert.deepEqual(Array.from(decide(p, 5, [0.5, 0.5, 0.5, 0.5, 0.5])), [0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0]);
  // Per-genre thresholds: genre 2's 0.6 rejects film 3's 0.55.
  assert.deepEqual(Array.from(decide([0.6, 0.1, 0.55, 0.2, 0.1], 5, [0.5, 0.5, 0.6, 0.5, 0.5])), [1, 0, 0, 0, 0]);
});

test('micro and per-genre F1 of decisions equal core/metrics.ts on the same 0/1 matrix', () => {
  const random = seededRandom(3);
  const labels = Array.from({ length: 60 }, () => (random() < 0.3 ? 1 : 0));
  const decisions = Uint8Array.from({ length: 60 }, () => (random() < 0.4 ? 1 : 0));
  const m = predictionMetrics(decisions, labels, ['a', 'b', 'c', 'd']);
  assert.equal(microF1Of(decisions, labels, 4), m.microF1);
  assert.deepEqual(
    genreF1Of(decisions, labels, 4),
    m.perGenre.map((g) => g.f1),
  );
});

test('the shared threshold is the grid value with the best micro F1 of the 1–3 rule; per-genre ones shrink towards it', () => {
  const random = seededRandom(9);
  const genres = 4;
  const films = 80;
  const labels: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < films * genres; i++) {
    const y = random() < (i % genres === 0 ? 0.5 : 0.2) ? 1 : 0;
    labels.push(y);
    p.push(Math.min(1, Math.max(0, (y ? 0.45 : 0.15) + 0.4 * (random() - 0.5))));
  }
  const grid = [0.1, 0.2, 0.3, 0.4, 0.5];
  const rule = chooseDecisionRule(p, labels, genres, grid);
  // Brute force: score every grid value with the rule written out here.
  const micro = (t: number) => {
    let [tp, fp, fn] = [0, 0, 0];
    for (let f = 0; f < films; f++) {
      const row = p.slice(f * genres, (f + 1) * genres);
      const order = row.map((_, g) => g).sort((a, b) => row[b] - row[a] || a - b);
      const chosen = new Set(order.filter((g, k) => k < 3 && (row[g] > t || k === 0)));
      for (let g = 0; g < genres; g++) {
        const y = labels[f * genres + g];
        if (chosen.has(g) && y) tp++;
        else if (chosen.has(g)) fp++;
        else if (y) fn++;
      }
    }
    return (2 * tp) / (2 * tp + fp + fn);
  };
  const best = grid.reduce((a, b) => (micro(b) > micro(a) ? b : a));
  assert.equal(rule.shared, best);
  // Each genre's own threshold (plain p > t, best F1, lowest on ties), then (n·t + k·shared) / (n + k).
  for (let g = 0; g < genres; g++) {
    const n = labels.filter((y, i) => i % genres === g && y).length;
    assert.equal(rule.positives[g], n);
    const f1 = (t: number) => {
      let [tp, fp, fn] = [0, 0, 0];
      for (let f = 0; f < films; f++) {
        const hit = p[f * genres + g] > t;
        const y = labels[f * genres + g];
        if (hit && y) tp++;
        else if (hit) fp++;
        else if (y) fn++;
      }
      return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    };
    const own = grid.reduce((a, b) => (f1(b) > f1(a) ? b : a));
    assert.ok(Math.abs(rule.perGenre[g] - (n * own + THRESHOLD_SHRINKAGE * best) / (n + THRESHOLD_SHRINKAGE)) <= 5e-7);
  }
  const decided = ruleDecisions(p, genres, rule);
  assert.deepEqual(decided.micro, decide(p, genres, new Array(genres).fill(rule.shared)));
  assert.deepEqual(decided.macro, decide(p, genres, rule.perGenre));
});
