/** The estimators a training run can fit, by the name used in options, params and model files. */
export const ESTIMATOR_NAMES = ['hist_gradient_boosting', 'logistic_regression'] as const;
export type EstimatorName = (typeof ESTIMATOR_NAMES)[number];
