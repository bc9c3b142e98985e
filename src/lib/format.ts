/** Number formatting shared by pages, components and chart exports (pure: no Astro imports). */

export const formatInt = (n: number) => n.toLocaleString('en-GB');
export const formatPercent = (n: number, digits = 1) => `${(n * 100).toFixed(digits)}%`;
/** Metrics in [0, 1] and losses: three decimals, as papers report them. */
export const formatMetric = (n: number) => n.toFixed(3);
export const formatSeconds = (ms: number) => (ms >= 100_000 ? `${formatInt(Math.round(ms / 1000))} s` : `${(ms / 1000).toFixed(1)} s`);
/** Artifacts count epochs from 0; the report counts them from 1, as Keras logs do. */
export const formatEpoch = (epoch: number) => String(epoch + 1);
