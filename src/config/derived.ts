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
