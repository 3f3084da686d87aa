/**
 * The plain-words pages the Queue-it entry answers instead of the waiting
 * page when it cannot take the visitor: written on the server, so nothing
 * of the refused link runs in the browser and no script could follow it.
 */
export interface Refusal {
  status: number;
  title: string;
  text: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Shown quoted in a page: at most 200 characters of what the link said. */
const quote = (value: string) => `“${value.length > 200 ? `${value.slice(0, 200)}…` : value}”`;

export const refusals = {
  unknownCustomer: (customerId: string): Refusal => ({
    status: 404,
    title: 'This waiting room does not serve that site',
    text: `The link that brought you here names the customer ${quote(customerId)}, which this waiting room does not serve. Go back to the site you came from and try again; if this keeps happening, tell the site's owner.`,
  }),
  unknownEvent: (eventId: string): Refusal => ({
    status: 404,
    title: 'There is no such waiting line',
    text: `The link that brought you here names the event ${quote(eventId)}, which this waiting room does not have (it may have ended and been removed). Go back to the site you came from and try again.`,
  }),
  noTarget: (): Refusal => ({
    status: 400,
    title: 'This link has no way back',
    text: 'The link that brought you here does not say which page to take you back to afterwards, so this waiting room cannot queue you for it. Go back to the site you came from and try again.',
  }),
  targetNotAllowed: (target: string): Refusal => ({
    status: 400,
    title: 'This waiting room will not send you there',
    text: `The link that brought you here asks to send you on to ${quote(target)}, which is not one of the sites this line serves. You were not queued and will not be sent anywhere. If someone sent you this link, it may not be genuine: go to the site you meant to visit yourself.`,
  }),
  unavailable: (): Refusal => ({
    status: 503,
    title: 'The waiting room is busy',
    text: 'We cannot reach the ticket system right now. Please reload this page in a few seconds.',
  }),
};

/** A whole page for a refusal, in the waiting room's look (styles.css). */
export function refusalPage(r: Refusal): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>${escapeHtml(r.title)} · queuegate</title>
  <link rel="stylesheet" href="/styles.css">
</head>
<body>
  <header class="top"><span class="brand">queuegate</span></header>
  <main id="main">
    <section class="card" aria-labelledby="refusal-heading">
      <h1 id="refusal-heading">${escapeHtml(r.title)}</h1>
      <p id="refusal-text">${escapeHtml(r.text)}</p>
    </section>
  </main>
</body>
</html>
`;
}
