/**
 * A model file as a standard ONNX graph: the whole pipeline (imputation, encoding, scaling, the trees or the linear
 * model, and the decision threshold), in the ai.onnx.ml operators every ONNX runtime implements, so the model runs
 * where mldeploy does not (ONNX Runtime in C++, C#, Java, a browser).
 *
 * Inputs are one tensor per feature, named as in the signature, shape [N, 1]: double for numeric features (NaN when
 * missing), string for categorical ones ("" when missing). Outputs: `probabilities` [N, 2] (float), `prediction` [N]
 * (int64: 1 where P(positive) >= the model's threshold) and `label` [N] (the runtime's argmax, at 0.5). The threshold,
 * the labels and the signature are also in the model's metadata.
 *
 * Gradient boosting: numeric splits compare doubles with double thresholds, as mldeploy does; a categorical split
 * ("code in the left set") becomes a chain of equality tests that share their left subtree; codes are assigned by a
 * LabelEncoder, and unseen or missing categories go where the tree sends missing values, as in mldeploy. Leaf values
 * and the linear model's coefficients are stored as float32, the attribute type the operators take: probabilities
 * agree with mldeploy's to about 1e-7.
 */
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { InvalidInputError } from '../../errors.js';
import type { LogisticRegressionJSON } from '../logistic.js';
import type { HgbModelJSON, HgbTreeJSON } from '../hgb/predictor.js';
import type { LinearCategoricalJSON, LinearNumericJSON, PreprocessingJSON } from '../preprocessing.js';
import type { TabularModel } from '../tabular-model.js';

const { onnx } = onnxProto;
type INodeProto = OnnxTypes.INodeProto;
type IAttributeProto = OnnxTypes.IAttributeProto;
type ITensorProto = OnnxTypes.ITensorProto;
type IValueInfoProto = OnnxTypes.IValueInfoProto;

const AttributeType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;
const ML_DOMAIN = 'ai.onnx.ml';
/** The default-domain opset (GreaterOrEqual, Squeeze with axes as input) and ai.onnx.ml's: both widely implemented. */
const OPSET = 15;
const ML_OPSET = 3;

/** The model cannot be expressed in ONNX (yet): an input error of the export, not a failure to retry. */
export class OnnxExportError extends InvalidInputError {
  override name = 'OnnxExportError';
}

export interface OnnxExportOptions {
  /** Recorded in the metadata, e.g. the registered name and version. */
  modelName?: string;
  modelVersion?: number;
}

/** The ONNX ModelProto bytes of a binary model. */
export function exportOnnx(model: TabularModel, options: OnnxExportOptions = {}): Uint8Array {
  if (model.task !== 'binary') throw new OnnxExportError(`ONNX export covers binary models for now; this one is ${model.task}`);
  const graph = new GraphBuilder();
  const preprocessing = model.preprocessor.toJSON();
  const estimator = model.estimator.toJSON();
  const features = model.signature.features;
  for (const feature of features) {
    graph.input(feature.name, feature.type === 'categorical' ? DataType.STRING : DataType.DOUBLE, ['N', 1]);
  }
  let probabilities: string;
  if (preprocessing.encoding === 'tree' && estimator.kind === 'hist_gradient_boosting') {
    probabilities = treePipeline(graph, preprocessing, estimator as HgbModelJSON);
  } else if (preprocessing.encoding === 'linear' && estimator.kind === 'logistic_regression') {
    probabilities = linearPipeline(graph, preprocessing, estimator as LogisticRegressionJSON);
  } else {
    throw new OnnxExportError(`cannot export a ${estimator.kind} model with ${preprocessing.encoding} preprocessing to ONNX`);
  }
  // prediction = P(positive) >= threshold, the model's own decision rule.
  const positive = graph.node('Slice', [probabilities, graph.int64s('slice_start', [1]), graph.int64s('slice_end', [2]), graph.int64s('slice_axis', [1])]);
  const flat = graph.node('Squeeze', [positive, graph.int64s('squeeze_axis', [1])]);
  const decision = graph.node('GreaterOrEqual', [flat, graph.floats('threshold', [Math.fround(model.threshold)])]);
  graph.node('Cast', [decision], { to: int(DataType.INT64) }, 'prediction');
  graph.output('probabilities', DataType.FLOAT, ['N', 2]);
  graph.output('prediction', DataType.INT64, ['N']);
  graph.output('label', DataType.INT64, ['N']);

  const { target } = model.signature;
  const metadata: Record<string, string> = {
    'mldeploy.threshold': String(model.threshold),
    'mldeploy.positive_label': target.positiveLabel ?? '',
    'mldeploy.negative_label': target.negativeLabel ?? '',
    'mldeploy.signature': JSON.stringify(model.signature),
  };
  if (options.modelName) metadata['mldeploy.model_name'] = options.modelName;
  if (options.modelVersion !== undefined) metadata['mldeploy.model_version'] = String(options.modelVersion);
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'mldeploy',
    modelVersion: options.modelVersion ?? 0,
    docString: `binary classifier of ${target.name} (positive: ${target.positiveLabel}), exported by mldeploy`,
    opsetImport: [
      { domain: '', version: OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ],
    graph: graph.build(options.modelName ?? 'mldeploy_model'),
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(proto).finish();
}

/** Gradient boosting: numeric columns as they are, categorical ones as codes, then one tree ensemble. */
function treePipeline(graph: GraphBuilder, preprocessing: Extract<PreprocessingJSON, { encoding: 'tree' }>, model: HgbModelJSON): string {
  const columns: string[] = preprocessing.numeric.map((f) => f.name);
  preprocessing.categorical.forEach((f, c) => {
    // The codes the trees know; any other string (unseen, or "" for missing) becomes NaN, which trees treat as missing.
    const featureIndex = preprocessing.numeric.length + c;
    const known = new Set(model.categorical.find((k) => k.feature === featureIndex)?.categories ?? []);
    const keys: string[] = [];
    const values: number[] = [];
    f.categories.forEach((category, code) => {
      if (known.has(code)) {
        keys.push(category);
        values.push(code);
      }
    });
    const codes = graph.node('LabelEncoder', [f.name], { keys_strings: strings(keys), values_floats: floats(values), default_float: float(NaN) }, undefined, ML_DOMAIN);
    columns.push(graph.node('Cast', [codes], { to: int(DataType.DOUBLE) }));
  });
  const X = columns.length === 1 ? columns[0] : graph.node('Concat', columns, { axis: int(1) });
  const ensemble = treeEnsemble(model);
  graph.node('TreeEnsembleClassifier', [X], ensemble, 'label', ML_DOMAIN, ['label', 'probabilities_raw']);
  return graph.node('Identity', ['probabilities_raw'], {}, 'probabilities');
}

/** The attributes of a TreeEnsembleClassifier equal to the forest: node ids are the JSON's, plus chain nodes. */
function treeEnsemble(model: HgbModelJSON): Record<string, IAttributeProto> {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const leafTrees: number[] = [];
  const leafNodes: number[] = [];
  const leafWeights: number[] = [];
  const add = (tree: number, id: number, feature: number, mode: string, value: number, yes: number, no: number, missing: boolean) => {
    treeIds.push(tree);
    nodeIds.push(id);
    featureIds.push(feature);
    modes.push(mode);
    values.push(value);
    trueIds.push(yes);
    falseIds.push(no);
    missingTrue.push(missing ? 1 : 0);
  };
  model.trees.forEach((tree: HgbTreeJSON, t) => {
    let nextId = tree.feature.length;
    for (let i = 0; i < tree.feature.length; i++) {
      if (tree.left[i] === -1) {
        add(t, i, 0, 'LEAF', 0, 0, 0, false);
        leafTrees.push(t);
        leafNodes.push(i);
        leafWeights.push(tree.value[i]);
        continue;
      }
      const feature = tree.feature[i];
      const missing = tree.missingLeft[i];
      const left = tree.leftCategories[i];
      if (left === null) {
        add(t, i, feature, 'BRANCH_LEQ', tree.threshold[i] ?? Infinity, tree.left[i], tree.right[i], missing);
        continue;
      }
      if (left.length === 0) {
        // Nothing goes left but (maybe) missing values: a test no number passes.
        add(t, i, feature, 'BRANCH_LT', -Infinity, tree.left[i], tree.right[i], missing);
        continue;
      }
      // "code in {a, b, c}": a == ? left : (b == ? left : (c == ? left : right)); the chain shares the left subtree.
      left.forEach((code, k) => {
        const id = k === 0 ? i : nextId++;
        const no = k === left.length - 1 ? tree.right[i] : nextId;
        add(t, id, feature, 'BRANCH_EQ', code, tree.left[i], no, missing);
      });
    }
  });
  return {
    nodes_treeids: ints(treeIds),
    nodes_nodeids: ints(nodeIds),
    nodes_featureids: ints(featureIds),
    nodes_modes: strings(modes),
    nodes_values_as_tensor: tensorAttribute(tensor('nodes_values', DataType.DOUBLE, [values.length], values)),
    nodes_truenodeids: ints(trueIds),
    nodes_falsenodeids: ints(falseIds),
    nodes_missing_value_tracks_true: ints(missingTrue),
    class_treeids: ints(leafTrees),
    class_nodeids: ints(leafNodes),
    class_ids: ints(leafTrees.map(() => 0)),
    class_weights: floats(leafWeights),
    base_values: floats([binaryBaseline(model)]),
    classlabels_int64s: ints([0, 1]),
    post_transform: string('LOGISTIC'),
  };
}

function binaryBaseline(model: HgbModelJSON): number {
  if (typeof model.baseline !== 'number') {
    throw new OnnxExportError('ONNX export covers binary models for now: this gradient boosting model has one baseline per class');
  }
  return model.baseline;
}

/**
 * Logistic regression: numeric columns imputed and standardised, categorical ones one-hot encoded (a missing value,
 * "", counts as the most frequent category; an unseen one as none), then the linear classifier.
 */
function linearPipeline(
  graph: GraphBuilder,
  preprocessing: Extract<PreprocessingJSON, { encoding: 'linear' }>,
  model: LogisticRegressionJSON,
): string {
  const parts: string[] = [];
  const coefficients: number[] = [];
  const numeric: LinearNumericJSON[] = preprocessing.numeric;
  if (numeric.length > 0) {
    const joined = numeric.length === 1 ? numeric[0].name : graph.node('Concat', numeric.map((f) => f.name), { axis: int(1) });
    const asFloat = graph.node('Cast', [joined], { to: int(DataType.FLOAT) });
    const imputed = graph.node('Imputer', [asFloat], { imputed_value_floats: floats(numeric.map((f) => f.median)), replaced_value_float: float(NaN) }, undefined, ML_DOMAIN);
    const scaled = graph.node('Scaler', [imputed], { offset: floats(numeric.map((f) => f.mean)), scale: floats(numeric.map((f) => 1 / f.scale)) }, undefined, ML_DOMAIN);
    // Declared: not every checker infers the types of these ai.onnx.ml outputs.
    graph.valueInfo(imputed, DataType.FLOAT, ['N', numeric.length]);
    graph.valueInfo(scaled, DataType.FLOAT, ['N', numeric.length]);
    parts.push(scaled);
    coefficients.push(...model.coef.slice(0, numeric.length));
  }
  let column = numeric.length;
  preprocessing.categorical.forEach((f: LinearCategoricalJSON) => {
    const categories = [...f.categories, ''];
    const oneHot = graph.node('OneHotEncoder', [f.name], { cats_strings: strings(categories), zeros: int(1) }, undefined, ML_DOMAIN);
    graph.valueInfo(oneHot, DataType.FLOAT, ['N', 1, categories.length]);
    parts.push(graph.node('Squeeze', [oneHot, graph.int64s(`${f.name}_axis`, [1])]));
    const weights = model.coef.slice(column, column + f.categories.length);
    coefficients.push(...weights, weights[f.categories.indexOf(f.mostFrequent)]);
    column += f.categories.length;
  });
  const X = parts.length === 1 ? parts[0] : graph.node('Concat', parts, { axis: int(1) });
  graph.node(
    'LinearClassifier',
    [X],
    {
      coefficients: floats(coefficients),
      intercepts: floats([model.intercept]),
      classlabels_ints: ints([0, 1]),
      post_transform: string('LOGISTIC'),
    },
    'label',
    ML_DOMAIN,
    ['label', 'scores'],
  );
  return graph.node('Identity', ['scores'], {}, 'probabilities');
}

/** Nodes, initializers, inputs and outputs, with generated names for intermediate values. */
class GraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly initializers: ITensorProto[] = [];
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private readonly intermediates: IValueInfoProto[] = [];
  private counter = 0;

  input(name: string, elemType: number, shape: (string | number)[]): void {
    this.inputs.push(valueInfo(name, elemType, shape));
  }

  output(name: string, elemType: number, shape: (string | number)[]): void {
    this.outputs.push(valueInfo(name, elemType, shape));
  }

  /** The type of an intermediate value. */
  valueInfo(name: string, elemType: number, shape: (string | number)[]): void {
    this.intermediates.push(valueInfo(name, elemType, shape));
  }

  /** Adds a node and returns the name of its (first) output. */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, IAttributeProto> = {},
    output?: string,
    domain = '',
    outputs?: string[],
  ): string {
    const name = output ?? `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({
      opType,
      domain,
      name: `${opType}_${this.nodes.length}`,
      input: inputs,
      output: outputs ?? [name],
      attribute: Object.entries(attributes).map(([key, attribute]) => ({ ...attribute, name: key })),
    });
    return outputs ? outputs[0] : name;
  }

  int64s(name: string, values: number[]): string {
    this.initializers.push(tensor(name, DataType.INT64, [values.length], values));
    return name;
  }

  floats(name: string, values: number[]): string {
    this.initializers.push(tensor(name, DataType.FLOAT, [values.length], values));
    return name;
  }

  build(name: string): OnnxTypes.IGraphProto {
    return { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs, valueInfo: this.intermediates };
  }
}

function valueInfo(name: string, elemType: number, shape: (string | number)[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function tensor(name: string, dataType: number, dims: number[], values: number[]): ITensorProto {
  const base = { name, dataType, dims };
  if (dataType === DataType.DOUBLE) return { ...base, doubleData: values };
  if (dataType === DataType.INT64) return { ...base, int64Data: values };
  return { ...base, floatData: values };
}

const int = (i: number): IAttributeProto => ({ type: AttributeType.INT, i });
const float = (f: number): IAttributeProto => ({ type: AttributeType.FLOAT, f });
const string = (s: string): IAttributeProto => ({ type: AttributeType.STRING, s: new TextEncoder().encode(s) });
const ints = (values: number[]): IAttributeProto => ({ type: AttributeType.INTS, ints: values });
const floats = (values: number[]): IAttributeProto => ({ type: AttributeType.FLOATS, floats: values });
const strings = (values: string[]): IAttributeProto => ({ type: AttributeType.STRINGS, strings: values.map((v) => new TextEncoder().encode(v)) });
const tensorAttribute = (value: ITensorProto): IAttributeProto => ({ type: AttributeType.TENSOR, t: value });
