// The pure parts of the Telnyx API client (src/http/telnyxApi.ts): the messages it builds, and how
// it reads Telnyx's error envelope {"errors":[{code,title,detail}]} and Meta's code inside it.
import { describe, expect, it } from 'vitest';
import { describeTelnyxError, interactiveRequest, metaCodeIn, templateRequest } from '../../src/http/telnyxApi.js';

describe("Telnyx's error envelope", () => {
  it("names Telnyx's code, title and detail, and finds Meta's code in the detail", () => {
    const body = JSON.stringify({ errors: [{ code: '40008', title: 'Meta error', detail: '(#131047) Re-engagement message', meta: {} }] });
    expect(describeTelnyxError(400, body)).toEqual({ code: '40008', metaCode: '131047', detail: 'Telnyx answered 400 (code 40008): Meta error: (#131047) Re-engagement message' });
  });

  it("finds Meta's code in meta too, and takes a numeric code", () => {
    const body = JSON.stringify({ errors: [{ code: 10009, title: 'Authentication failed', meta: { meta_error_code: 138017 } }] });
    expect(describeTelnyxError(401, body)).toEqual({ code: '10009', metaCode: '138017', detail: 'Telnyx answered 401 (code 10009): Authentication failed' });
  });

  it('anything else is quoted briefly, never thrown', () => {
    expect(describeTelnyxError(502, '<html>Bad gateway</html>')).toEqual({ detail: 'Telnyx answered 502: <html>Bad gateway</html>' });
    expect(describeTelnyxError(500, '')).toEqual({ detail: 'Telnyx answered 500: (no body)' });
    expect(describeTelnyxError(400, JSON.stringify({ errors: [] }))).toEqual({ detail: 'Telnyx answered 400: {"errors":[]}' });
    expect(metaCodeIn('code 40008, not Meta')).toBeUndefined();
  });
});

describe('the messages', () => {
  it('the template: name, language code, body parameters named or positional, none without', () => {
    expect(templateRequest('+447418613982', '+447911123456', { name: 't', language: 'en_GB', bodyParameters: [{ name: 'first_name', text: 'Pablo' }, { text: 'Acme' }] }).whatsapp_message).toEqual({
      type: 'template',
      template: { name: 't', language: { code: 'en_GB' }, components: [{ type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Pablo' }, { type: 'text', text: 'Acme' }] }] },
    });
    expect(templateRequest('+447418613982', '+447911123456', { name: 't', language: 'en', bodyParameters: [] }).whatsapp_message.template).toEqual({ name: 't', language: { code: 'en' } });
  });

  it("the interactive request is Meta's call_permission_request with the text", () => {
    expect(interactiveRequest('+447418613982', '+447911123456', 'May we call?')).toEqual({
      from: '+447418613982',
      to: '+447911123456',
      type: 'WHATSAPP',
      whatsapp_message: { type: 'interactive', interactive: { type: 'call_permission_request', action: { name: 'call_permission_request' }, body: { text: 'May we call?' } } },
    });
  });
});
