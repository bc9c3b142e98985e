/**
 * The site's small browser modules without a browser: the example filters' rules and the theme's
 * choice. The Chromium tests (e2e.test.ts) cover them on the built pages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cardMatches, countText, filtersQuery, type CardFacts } from '../../src/client/example-filters.ts';
import { isDark } from '../../src/client/theme-toggle.ts';

const card = (genres: string[], outcome: string, explained = false): CardFacts => ({ genres, outcome, explained });
const none = { genre: '', outcome: '', explained: '' };

test('example filters: genre, outcome (disagree = either model alone right) and explained, each optional', () => {
  assert.equal(cardMatches(card(['Drama'], 'both'), none), true);
  assert.equal(cardMatches(card(['Drama', 'Comedy'], 'both'), { ...none, genre: 'Comedy' }), true);
  assert.equal(cardMatches(card(['Drama'], 'both'), { ...none, genre: 'Comedy' }), false);
  assert.equal(cardMatches(card(['Drama'], 'cnn-only'), { ...none, outcome: 'disagree' }), true);
  assert.equal(cardMatches(card(['Drama'], 'lstm-only'), { ...none, outcome: 'disagree' }), true);
  assert.equal(cardMatches(card(['Drama'], 'both'), { ...none, outcome: 'disagree' }), false);
  assert.equal(cardMatches(card(['Drama'], 'neither'), { ...none, outcome: 'neither' }), true);
  assert.equal(cardMatches(card(['Drama'], 'both', false), { ...none, explained: 'true' }), false);
  assert.equal(cardMatches(card(['Drama'], 'both', true), { genre: 'Drama', outcome: 'both', explained: 'true' }), true);
});

test('example filters: the URL records only what is set; the count says all or how many', () => {
  assert.equal(filtersQuery(none), '');
  assert.equal(filtersQuery({ genre: 'Sci-Fi', outcome: 'disagree', explained: '' }), 'genre=Sci-Fi&outcome=disagree');
  assert.equal(new URLSearchParams(filtersQuery({ genre: 'Drama & more', outcome: '', explained: 'true' })).get('genre'), 'Drama & more');
  assert.equal(countText(12, 12), 'Showing all 12 films.');
  assert.equal(countText(3, 12), 'Showing 3 of 12 films.');
});

test('theme: the one picked wins over the system’s', () => {
  assert.equal(isDark(undefined, true), true);
  assert.equal(isDark(undefined, false), false);
  assert.equal(isDark('light', true), false);
  assert.equal(isDark('dark', false), true);
});
