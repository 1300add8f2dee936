import { parser } from "@prometheus-io/lezer-promql";

/**
 * Checks a PromQL expression against what the gateway exports: every series it selects exists, every label it
 * matches, groups or joins on is a label of the series it applies to, every label value it names for a bounded
 * label is a value the gateway emits, and it says which labels its result can carry (for legends and alert
 * annotations). A query that names a label the series lack does not fail in Prometheus: it silently returns
 * nothing, or sums what it meant to split, which is exactly the lie this is here to catch.
 *
 * Parsing uses the Prometheus project's own grammar (@prometheus-io/lezer-promql, the one its UI uses). The
 * label inference on top is written here because no library does it; it models the PromQL functions and
 * operators this project's alerts and dashboards use, and reports any other node as a problem rather than
 * guessing, so a new construct makes the check fail until it is modelled.
 */

type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

/** What is known of one series name: its labels, and for bounded labels every value it can take. */
export interface SeriesInfo {
  readonly labels: readonly string[];
  readonly values?: Readonly<Record<string, readonly string[]>>;
}

export type SeriesLookup = (name: string) => SeriesInfo | undefined;

export interface Matcher {
  readonly label: string;
  readonly op: string;
  readonly value: string;
}

/** One `name{matchers}` of the expression. */
export interface Selector {
  readonly series: string;
  readonly matchers: readonly Matcher[];
}

export interface Analysis {
  /** Every series name the expression selects. */
  readonly series: readonly string[];
  readonly selectors: readonly Selector[];
  /** The label names the result's series can carry; empty for a scalar. */
  readonly labels: ReadonlySet<string>;
  readonly problems: readonly string[];
}

/** Prometheus adds these to every scraped series. */
const TARGET_LABELS = ["job", "instance"] as const;

type Value =
  | { readonly kind: "scalar" }
  | { readonly kind: "string"; readonly text: string }
  | { readonly kind: "vector"; readonly labels: ReadonlySet<string> };

const SCALAR: Value = { kind: "scalar" };
const vector = (labels: Iterable<string>): Value => ({ kind: "vector", labels: new Set(labels) });

/** Functions whose result keeps the labels of their (first) vector argument. */
const LABEL_PRESERVING = new Set([
  "rate",
  "irate",
  "increase",
  "delta",
  "idelta",
  "deriv",
  "predict_linear",
  "resets",
  "changes",
  "abs",
  "ceil",
  "floor",
  "round",
  "exp",
  "ln",
  "log2",
  "log10",
  "sqrt",
  "sgn",
  "clamp",
  "clamp_min",
  "clamp_max",
  "timestamp",
  "sort",
  "sort_desc",
  "avg_over_time",
  "min_over_time",
  "max_over_time",
  "sum_over_time",
  "count_over_time",
  "last_over_time",
  "present_over_time",
  "quantile_over_time",
  "stddev_over_time",
  "stdvar_over_time",
]);

const GROUPING_AGGREGATIONS = new Set(["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"]);
const SELECTING_AGGREGATIONS = new Set(["topk", "bottomk", "limitk", "limit_ratio"]);
const ARITHMETIC = new Set(["Add", "Sub", "Mul", "Div", "Mod", "Pow", "Atan2"]);
const COMPARISON = new Set(["Eql", "Neq", "Gtr", "Lss", "Gte", "Lte"]);
const SET_OPS = new Set(["And", "Or", "Unless"]);

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let child = node.firstChild; child !== null; child = child.nextSibling) out.push(child);
  return out;
}

function child(node: SyntaxNode, name: string): SyntaxNode | undefined {
  return children(node).find((c) => c.type.name === name);
}

const sorted = (labels: Iterable<string>): string => [...labels].sort().join(", ") || "none";

class Checker {
  readonly series: string[] = [];
  readonly selectors: Selector[] = [];
  readonly problems: string[] = [];

  constructor(
    private readonly expr: string,
    private readonly lookup: SeriesLookup,
  ) {}

  private text(node: SyntaxNode): string {
    return this.expr.slice(node.from, node.to);
  }

  private problem(node: SyntaxNode, message: string): void {
    this.problems.push(`${message} (in \`${this.text(node)}\`)`);
  }

  private unquote(node: SyntaxNode): string {
    const raw = this.text(node);
    if (raw.startsWith('"')) return JSON.parse(raw) as string;
    return raw.slice(1, -1);
  }

  private labelList(grouping: SyntaxNode | undefined): string[] {
    if (grouping === undefined) return [];
    return children(grouping).map((c) =>
      c.type.name === "QuotedLabelName" ? this.unquote(c.firstChild ?? c) : this.text(c),
    );
  }

  /** Expression children only (operands and arguments), without operator and modifier tokens. */
  private operands(node: SyntaxNode): SyntaxNode[] {
    return children(node).filter((c) => c.type.name !== "FunctionIdentifier");
  }

  evaluate(node: SyntaxNode): Value {
    switch (node.type.name) {
      case "PromQL":
      case "ParenExpr":
      case "UnaryExpr":
      case "OffsetExpr":
      case "SubqueryExpr":
      case "MatrixSelector": {
        // The operand is the one expression child; the rest are tokens and durations.
        const operand = children(node).find(
          (c) => !["UnaryOp", "Offset", "OffsetDurationExpr", "DurationExpr"].includes(c.type.name),
        );
        if (operand === undefined) {
          this.problem(node, "empty expression");
          return SCALAR;
        }
        return this.evaluate(operand);
      }
      case "NumberDurationLiteral":
        return SCALAR;
      case "StringLiteral":
        return { kind: "string", text: this.unquote(node) };
      case "VectorSelector":
        return this.selector(node);
      case "AggregateExpr":
        return this.aggregate(node);
      case "FunctionCall":
        return this.call(node);
      case "BinaryExpr":
        return this.binary(node);
      default:
        this.problem(node, `the checker does not model PromQL node ${node.type.name}: add it`);
        return vector([]);
    }
  }

  private selector(node: SyntaxNode): Value {
    const identifier = child(node, "Identifier");
    if (identifier === undefined) {
      this.problem(node, "a selector without a metric name");
      return vector([]);
    }
    const name = this.text(identifier);
    this.series.push(name);
    const matchers: { node: SyntaxNode; matcher: Matcher }[] = [];
    const list = child(node, "LabelMatchers");
    for (const matcher of list === undefined ? [] : children(list)) {
      const [nameNode, opNode, valueNode] = children(matcher);
      if (nameNode === undefined || opNode === undefined || valueNode === undefined) continue;
      const label =
        nameNode.type.name === "QuotedLabelName"
          ? this.unquote(nameNode.firstChild ?? nameNode)
          : this.text(nameNode);
      matchers.push({
        node: matcher,
        matcher: { label, op: this.text(opNode), value: this.unquote(valueNode) },
      });
    }
    this.selectors.push({ series: name, matchers: matchers.map((m) => m.matcher) });
    const info = this.lookup(name);
    if (info === undefined) {
      this.problem(node, `${name} is not a series the gateway exports`);
      return vector([]);
    }
    const labels = new Set([...info.labels, ...TARGET_LABELS]);
    for (const { node: matcherNode, matcher } of matchers) {
      if (matcher.label === "__name__") continue;
      if (!labels.has(matcher.label)) {
        this.problem(matcherNode, `${name} has no label ${matcher.label} (its labels: ${sorted(labels)})`);
        continue;
      }
      this.checkValues(matcherNode, name, matcher, info);
    }
    return vector(labels);
  }

  /** A bounded label matched against a value it never takes matches nothing, silently. */
  private checkValues(node: SyntaxNode, name: string, matcher: Matcher, info: SeriesInfo): void {
    const { label, op, value } = matcher;
    const known = info.values?.[label];
    if (known === undefined) return;
    let values: string[];
    if (op === "=" || op === "!=") values = [value];
    // Only a plain alternation of literal values is checked; a real pattern (5.., .*, $var) is left alone.
    else if (/^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$/.test(value)) values = value.split("|");
    else return;
    for (const v of values) {
      if (!known.includes(v)) {
        this.problem(node, `${name}{${label}} is never "${v}" (it is one of: ${known.join(", ")})`);
      }
    }
  }

  private aggregate(node: SyntaxNode): Value {
    const op = this.text(child(node, "AggregateOp") ?? node).toLowerCase();
    const body = child(node, "FunctionCallBody");
    const args = body === undefined ? [] : this.operands(body).map((a) => this.evaluate(a));
    const input = args[args.length - 1];
    if (input?.kind !== "vector") {
      this.problem(node, `${op} needs a vector`);
      return vector([]);
    }
    const modifier = child(node, "AggregateModifier");
    const grouping = this.labelList(modifier === undefined ? undefined : child(modifier, "GroupingLabels"));
    const without = modifier !== undefined && child(modifier, "Without") !== undefined;
    for (const label of grouping) {
      if (!input.labels.has(label)) {
        this.problem(
          node,
          `${op} ${without ? "without" : "by"} (${label}): its input has no label ${label} (it has: ${sorted(input.labels)})`,
        );
      }
    }
    if (SELECTING_AGGREGATIONS.has(op)) return input;
    const extra: string[] = [];
    if (op === "count_values") {
      const labelArg = args[0];
      if (labelArg?.kind === "string") extra.push(labelArg.text);
    } else if (op !== "quantile" && !GROUPING_AGGREGATIONS.has(op)) {
      this.problem(node, `the checker does not model the aggregation ${op}: add it`);
    }
    if (without) return vector([...input.labels].filter((l) => !grouping.includes(l)).concat(extra));
    return vector([...grouping, ...extra]);
  }

  private call(node: SyntaxNode): Value {
    const name = this.text(child(node, "FunctionIdentifier") ?? node);
    const body = child(node, "FunctionCallBody");
    const args = body === undefined ? [] : this.operands(body).map((a) => this.evaluate(a));
    const input = args.find((a) => a.kind === "vector");
    switch (name) {
      case "time":
      case "pi":
      case "scalar":
        return SCALAR;
      case "vector":
        return vector([]);
      case "histogram_quantile": {
        if (input?.kind !== "vector" || !input.labels.has("le")) {
          this.problem(
            node,
            "histogram_quantile over series without an le label (not a histogram's _bucket)",
          );
          return vector([]);
        }
        return vector([...input.labels].filter((l) => l !== "le"));
      }
      case "label_replace": {
        const [, dst, , src] = args;
        if (input?.kind !== "vector" || dst?.kind !== "string" || src?.kind !== "string") {
          this.problem(node, "label_replace(vector, dst, replacement, src, regex) expected");
          return vector([]);
        }
        if (src.text !== "" && !input.labels.has(src.text)) {
          this.problem(node, `label_replace reads label ${src.text}, which its input does not have`);
        }
        return vector([...input.labels, dst.text]);
      }
      default:
        if (!LABEL_PRESERVING.has(name)) {
          this.problem(node, `the checker does not model the function ${name}: add it`);
          return vector([]);
        }
        if (input?.kind !== "vector") {
          this.problem(node, `${name} needs a vector argument`);
          return vector([]);
        }
        return input;
    }
  }

  private binary(node: SyntaxNode): Value {
    const parts = children(node);
    const lhsNode = parts[0];
    const opNode = parts[1];
    const rhsNode = parts[parts.length - 1];
    if (lhsNode === undefined || opNode === undefined || rhsNode === undefined) {
      this.problem(node, "incomplete binary expression");
      return vector([]);
    }
    const lhs = this.evaluate(lhsNode);
    const rhs = this.evaluate(rhsNode);
    const op = opNode.type.name;
    if (!ARITHMETIC.has(op) && !COMPARISON.has(op) && !SET_OPS.has(op)) {
      this.problem(node, `the checker does not model the operator ${op}: add it`);
    }
    if (lhs.kind !== "vector" || rhs.kind !== "vector") {
      if (lhs.kind === "vector") return lhs;
      if (rhs.kind === "vector") return rhs;
      return SCALAR;
    }
    const clause = child(node, "MatchingModifierClause");
    const groupings =
      clause === undefined ? [] : children(clause).filter((c) => c.type.name === "GroupingLabels");
    const matching = this.labelList(groupings[0]);
    const include = this.labelList(groupings[1]);
    const on = clause !== undefined && child(clause, "On") !== undefined;
    const ignoring = clause !== undefined && child(clause, "Ignoring") !== undefined;
    const groupLeft = clause !== undefined && child(clause, "GroupLeft") !== undefined;
    const groupRight = clause !== undefined && child(clause, "GroupRight") !== undefined;
    const opText = this.text(opNode);

    if (on) {
      for (const label of matching) {
        if (!lhs.labels.has(label) || !rhs.labels.has(label)) {
          this.problem(node, `on (${label}): both sides of ${opText} need label ${label}`);
        }
      }
    } else if (op !== "Or") {
      // Without on(), series match on every label but the ignored ones: different label sets match nothing.
      const left = [...lhs.labels].filter((l) => !matching.includes(l));
      const right = [...rhs.labels].filter((l) => !matching.includes(l));
      if (!groupLeft && !groupRight && sorted(left) !== sorted(right)) {
        this.problem(
          node,
          `the sides of ${opText} carry different labels (${sorted(left)} vs ${sorted(right)}), so nothing matches: use on (...)`,
        );
      }
    }
    for (const label of include) {
      const other = groupLeft ? rhs : lhs;
      if (!other.labels.has(label)) {
        this.problem(
          node,
          `group_${groupLeft ? "left" : "right"} (${label}): the other side has no label ${label}`,
        );
      }
    }

    if (op === "Or") return vector([...lhs.labels, ...rhs.labels]);
    if (SET_OPS.has(op)) return lhs;
    if (groupLeft) return vector([...lhs.labels, ...include]);
    if (groupRight) return vector([...rhs.labels, ...include]);
    if (on) return vector(matching);
    if (ignoring) return vector([...lhs.labels].filter((l) => !matching.includes(l)));
    return lhs;
  }
}

export function analyse(expr: string, lookup: SeriesLookup): Analysis {
  const tree = parser.parse(expr);
  const checker = new Checker(expr, lookup);
  let errorAt: number | undefined;
  tree.iterate({
    enter: (ref) => {
      if (ref.type.isError) errorAt ??= ref.from;
    },
  });
  // A tree with an error node is the parser's best guess: checking it would report noise, not the mistake.
  if (errorAt !== undefined) {
    return {
      series: [],
      selectors: [],
      labels: new Set(),
      problems: [`syntax error at offset ${errorAt} of \`${expr}\``],
    };
  }
  const result = checker.evaluate(tree.topNode);
  return {
    series: checker.series,
    selectors: checker.selectors,
    labels: result.kind === "vector" ? result.labels : new Set(),
    problems: checker.problems,
  };
}

/** Grafana's interval variables replaced by durations, so a panel's query parses as PromQL. */
export function grafanaToPromql(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "5m")
    .replaceAll("$__interval", "1m")
    .replaceAll("$__range", "1h");
}

/** The `{{label}}` names a Grafana legend format uses. */
export function legendLabels(legend: string): string[] {
  return [...legend.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1] ?? "");
}

/** The `$labels.name` references of an alert annotation template. */
export function templateLabels(template: string): string[] {
  return [...template.matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)].map((m) => m[1] ?? "");
}
