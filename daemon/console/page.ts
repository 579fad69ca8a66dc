// The console page: noVNC full-window under a status line and a Ctrl+Alt+Del button. It holds no
// secret: the link's token is read from the URL fragment (#t=…, which browsers never send, so it
// reaches no access log), removed from the address bar at once, and sent only in the WebSocket
// URL. What the page says when the proxy refuses comes from the RFB security failure's reason;
// a link refused at the upgrade (used, expired, forged) gets the page's own words.
import { TOKEN_PATTERN } from './links.ts';

export const PAGE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'",
].join('; ');

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>Console</title>
<link rel="stylesheet" href="console.css">
<script type="module" src="console.js"></script>
</head>
<body>
<header id="bar">
<span id="status" role="status" aria-live="polite" data-state="loading">Loading the console…</span>
<button id="cad" type="button" disabled>Send Ctrl+Alt+Del</button>
</header>
<main id="screen" aria-label="The server's screen"></main>
<noscript><p class="noscript">The console needs JavaScript.</p></noscript>
</body>
</html>
`;

export const PAGE_CSS = `html, body { margin: 0; height: 100%; background: #111; color: #eee; font: 14px/1.4 system-ui, sans-serif; overflow: hidden; }
#bar { position: absolute; top: 0; left: 0; right: 0; height: 36px; display: flex; align-items: center; gap: 12px; padding: 0 12px; background: #222; border-bottom: 1px solid #333; box-sizing: border-box; }
#status { flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#status[data-state="connected"] { color: #8fd694; }
#status[data-state="error"] { color: #ff9b8f; white-space: normal; }
#cad { font: inherit; padding: 3px 10px; background: #333; color: #eee; border: 1px solid #555; border-radius: 4px; cursor: pointer; }
#cad:disabled { opacity: .5; cursor: default; }
#screen { position: absolute; top: 36px; left: 0; right: 0; bottom: 0; }
.noscript { padding: 48px 12px; }
`;

// The token pattern is the server's, so the page never sends what the server would refuse unread.
const TOKEN = TOKEN_PATTERN.source.replace(/^\^/, '').replace(/\$$/, '');

export const PAGE_JS = `import RFB from './novnc/core/rfb.js';

const status = document.getElementById('status');
const cad = document.getElementById('cad');
const screen = document.getElementById('screen');
const say = (text, state) => { status.textContent = text; status.dataset.state = state; };
const AGAIN = ' Open the console again from the client area to get a new link.';

const m = /(?:^#|&)t=(${TOKEN})(?:&|$)/.exec(location.hash);
// The link opens once: take the token out of the address bar, history and bookmarks at once.
history.replaceState(null, '', location.pathname + location.search);
if (!m) {
  say('This console link is incomplete.' + AGAIN, 'error');
} else {
  const url = new URL('ws?t=' + m[1], location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  say('Connecting…', 'connecting');
  let connected = false;
  let refused = false;
  let name = '';
  const rfb = new RFB(screen, url.href, { wsProtocols: ['binary'] });
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.background = '#111';
  rfb.addEventListener('desktopname', (e) => {
    name = String(e.detail.name || '');
    document.title = name ? name + ' — console' : 'Console';
    if (connected) say('Connected to ' + name, 'connected');
  });
  rfb.addEventListener('connect', () => {
    connected = true;
    cad.disabled = false;
    say(name ? 'Connected to ' + name : 'Connected', 'connected');
    rfb.focus();
  });
  rfb.addEventListener('securityfailure', (e) => {
    refused = true;
    say(String((e.detail && e.detail.reason) || 'The console was refused.'), 'error');
  });
  rfb.addEventListener('disconnect', () => {
    cad.disabled = true;
    if (refused) return;
    if (connected) say('Disconnected. The session ended; to reconnect, open the console again from the client area.', 'closed');
    else say('This console link cannot be used: it was already used, it has expired or it is not valid.' + AGAIN, 'error');
  });
  cad.addEventListener('click', () => rfb.sendCtrlAltDel());
}
`;
