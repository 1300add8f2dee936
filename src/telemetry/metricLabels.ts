import { boundedFailCode } from "../apixo/models.js";
import type { MetricsView } from "./metricsView.js";

/** Label value when the tenant label is switched off (`telemetry.tenantLabel: false`). */
export const ALL_TENANTS = "all";
/** Label value for "not known to config" (tenant, upstream) or "not in the price table" (model). */
export const OTHER = "other";
/**
 * Label value when the request named no tenant (unauthenticated), no model (current-balance) or no feature:
 * never "".
 */
export const NONE = "none";

/**
 * Every label value goes through here, so cardinality is bounded by construction: tenants, upstreams and
 * features by the config, models by the catalog, fail codes by a fixed list, HTTP codes by the protocol.
 * Nothing the client sends becomes a label value as sent.
 */
export class LabelBounds {
  constructor(
    private readonly view: () => MetricsView,
    private readonly tenantLabel: boolean,
  ) {}

  tenant(id: string | undefined): string {
    if (!this.tenantLabel) return ALL_TENANTS;
    if (id === undefined) return NONE;
    return this.view().isTenant(id) ? id : OTHER;
  }

  model(name: string | undefined): string {
    if (name === undefined) return NONE;
    return this.view().pricedModel(name) ?? OTHER;
  }

  /**
   * X-Gateway-Feature: the value itself only when telemetry.featureLabels lists it, `other` when not,
   * `none` when the request named no feature. (X-Gateway-User never becomes a label at all.)
   */
  feature(feature: string | undefined): string {
    if (feature === undefined) return NONE;
    return this.view().isFeatureLabel(feature) ? feature : OTHER;
  }

  upstream(alias: string): string {
    return this.view().isUpstream(alias) ? alias : OTHER;
  }

  failCode(code: string | undefined): string {
    return boundedFailCode(code);
  }

  /** Status codes as label strings without a fresh string per request. */
  code(status: number): string {
    if (!Number.isInteger(status) || status < 100 || status > 599) return OTHER;
    let text = CODE_TEXT[status];
    if (text === undefined) {
      text = String(status);
      CODE_TEXT[status] = text;
    }
    return text;
  }
}

const CODE_TEXT: (string | undefined)[] = [];

/**
 * prom-client children cached by label values in nested maps: the hot path neither builds a label object nor
 * hashes one. Bounded because the values are (see LabelBounds).
 */
export class ChildCache<C> {
  private readonly root = new Map<string, unknown>();

  constructor(
    private readonly arity: 1 | 2 | 3 | 4,
    private readonly make: (values: string[]) => C,
  ) {}

  get(a: string, b = "", c = "", d = ""): C {
    let level = this.root;
    for (let i = 0; i < this.arity - 1; i++) {
      const value = i === 0 ? a : i === 1 ? b : c;
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map<string, unknown>();
        level.set(value, next);
      }
      level = next;
    }
    const last = this.arity === 1 ? a : this.arity === 2 ? b : this.arity === 3 ? c : d;
    let child = level.get(last) as C | undefined;
    if (child === undefined) {
      child = this.make([a, b, c, d].slice(0, this.arity));
      level.set(last, child);
    }
    return child;
  }
}

/**
 * Runs `init` with the configuration's view the first time it is seen: zero series for label values a config
 * makes known are created once per configuration (at the first scrape, and after each reload), not on every
 * scrape.
 */
export function oncePerView<V>(view: () => V, init: (view: V) => void): () => void {
  let seen: V | undefined;
  return () => {
    const current = view();
    if (current === seen) return;
    seen = current;
    init(current);
  };
}
