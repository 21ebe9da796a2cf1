// drachtio middleware without bundled types (see srf.ts for drachtio-srf's own gaps).
declare module 'drachtio-mw-registration-parser' {
  const registrationParser: (req: unknown, res: unknown, next: () => void) => void;
  export default registrationParser;
}
