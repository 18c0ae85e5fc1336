// What the page says about an opened composition's recorded metrics: words, not field names.
import { describe, expect, it } from 'vitest';
import { metricWords } from '../../src/ui/ShippedCompositions';

describe('metricWords', () => {
  it('names the metrics the worker records, and spells out others', () => {
    expect(metricWords('final_loss', 4.95419979095459)).toBe('final loss 4.95');
    expect(metricWords('held_out_accuracy', 0.125)).toBe('held-out accuracy 12.5 %');
    expect(metricWords('held_out_n', 100)).toBe('on 100 held-out examples');
    expect(metricWords('kv-arith', 0.62)).toBe('kv arith 62.0 %');
  });
});
