/** The estimators a training run can fit, by the name used in options, params and model files (logistic regression is multinomial on a multi-class task; ridge is for regression). */
export const ESTIMATOR_NAMES = ['hist_gradient_boosting', 'logistic_regression', 'ridge'] as const;
export type EstimatorName = (typeof ESTIMATOR_NAMES)[number];
