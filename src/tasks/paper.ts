// The paper's Table 1 (Bansal et al., "LLM Augmented LLMs", ICLR 2024, arXiv 2401.02412): the
// key-value experiment at full scale, exact-match accuracy in 0…1 per task for the anchor
// alone, the augmenting model alone and CALM. `calm repro kv` and the page's Evaluate table
// set the toy reproduction beside these figures.
export type PaperRow = 'kv-subs' | 'num-arith' | 'kv-arith';

export const PAPER_TABLE_1: Readonly<Record<PaperRow, Readonly<{ anchor: number; augment: number; composed: number }>>> = Object.freeze({
  'kv-subs': Object.freeze({ anchor: 0.0, augment: 0.981, composed: 0.929 }),
  'num-arith': Object.freeze({ anchor: 0.737, augment: 0.042, composed: 0.72 }),
  'kv-arith': Object.freeze({ anchor: 0.0, augment: 0.007, composed: 0.843 }),
});
