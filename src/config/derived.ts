// Values derived from a part of the configuration, built once per configuration. The configuration
// is frozen and replaced whole on reload, so a part's identity says when to build again, and no
// request builds the same value twice.

export function perConfig<K extends object, V>(build: (part: K) => V): (part: K) => V {
  const built = new WeakMap<K, V>();
  return (part) => {
    if (built.has(part)) return built.get(part) as V;
    const value = build(part);
    built.set(part, value);
    return value;
  };
}

/** Each configured business number's entry, by its E.164 form: one map per configuration. */
const numbersByE164 = perConfig((numbers: readonly { number: string }[]) => new Map(numbers.map((n) => [n.number, n])));

/** The configured entry of a business number, if it is one. */
export function numberEntry<N extends { number: string }>(numbers: readonly N[], e164: string): N | undefined {
  return numbersByE164(numbers).get(e164) as N | undefined;
}
