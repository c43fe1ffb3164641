import { describe, expect, it } from 'vitest';
import { decidePromotion, InvalidInputError } from '../src/tracking/index.js';

describe('promotion gate', () => {
  it('promotes the first model when its CI lower bound is above chance', () => {
    expect(decidePromotion({ candidate: { version: 1, rocAuc: 0.998, rocAucCiLower: 0.996, rocAucCiUpper: 0.999 } })).toEqual({
      promote: true,
      reason: 'promoted: no production model yet; test ROC AUC 0.998 (95% CI 0.996-0.999)',
    });
  });

  it('refuses a model whose CI reaches chance, even with no production model', () => {
    expect(decidePromotion({ candidate: { version: 2, rocAuc: 0.492, rocAucCiLower: 0.43, rocAucCiUpper: 0.55 } })).toEqual({
      promote: false,
      reason: 'not promoted: test ROC AUC 0.492 (95% CI 0.43-0.55) is not better than chance',
    });
    // A good point estimate does not help when the interval still includes 0.5 (small test split).
    const lucky = decidePromotion({ candidate: { version: 2, rocAuc: 0.62, rocAucCiLower: 0.5, rocAucCiUpper: 0.74 } });
    expect(lucky.promote).toBe(false);
    // The chance test comes first: beating a weak production model is not enough.
    const weak = decidePromotion({
      candidate: { version: 3, rocAuc: 0.55, rocAucCiLower: 0.48 },
      current: { version: 1, rocAuc: 0.51 },
    });
    expect(weak).toEqual({
      promote: false,
      reason: 'not promoted: test ROC AUC 0.550 (95% CI lower bound 0.48) is not better than chance',
    });
  });

  it('refuses a model that does not strictly beat production on the same split', () => {
    expect(
      decidePromotion({
        candidate: { version: 4, rocAuc: 0.951, rocAucCiLower: 0.93, rocAucCiUpper: 0.97 },
        current: { version: 3, rocAuc: 0.962 },
      }),
    ).toEqual({
      promote: false,
      reason: "not promoted: test ROC AUC 0.951 does not beat production v3's 0.962 on the same test split",
    });
    const tie = decidePromotion({ candidate: { version: 4, rocAuc: 0.962, rocAucCiLower: 0.94 }, current: { version: 3, rocAuc: 0.962 } });
    expect(tie.promote).toBe(false);
  });

  it('promotes a better model and shows enough digits to tell close scores apart', () => {
    expect(
      decidePromotion({
        candidate: { version: 5, rocAuc: 0.97, rocAucCiLower: 0.955, rocAucCiUpper: 0.982 },
        current: { version: 3, rocAuc: 0.962 },
      }),
    ).toEqual({
      promote: true,
      reason: "promoted: test ROC AUC 0.970 (95% CI 0.955-0.982) beats production v3's 0.962 on the same test split",
    });
    const close = decidePromotion({ candidate: { version: 6, rocAuc: 0.9624, rocAucCiLower: 0.94 }, current: { version: 5, rocAuc: 0.9621 } });
    expect(close.promote).toBe(true);
    expect(close.reason).toContain("test ROC AUC 0.9624 (95% CI lower bound 0.94) beats production v5's 0.9621");
  });

  it('rejects scores that are not probabilities, naming the field', () => {
    expect(() => decidePromotion({ candidate: { version: 1, rocAuc: Number.NaN, rocAucCiLower: 0.6 } })).toThrow(
      InvalidInputError,
    );
    expect(() => decidePromotion({ candidate: { version: 1, rocAuc: 0.9, rocAucCiLower: 0.6 }, current: { version: 1, rocAuc: 1.2 } })).toThrow(
      'current.rocAuc must be a number between 0 and 1, got 1.2',
    );
  });
});
