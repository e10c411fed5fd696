/**
 * EMULATOR ONLY: renders the self-service pages (the form, the confirmation, the "link not valid"
 * page) as HTML strings. No HTTP and no rules here: selfserviceHttp.ts serves them, the store decides.
 */
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const STYLE = `
body{font-kind:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#eef2f7;margin:0;color:#1d2733}
header{background:#0b4f8a;color:#fff;padding:14px 28px;font-size:20px;font-weight:600;letter-spacing:.3px}
header small{font-weight:400;opacity:.8;margin-left:10px;font-size:13px}
main{max-width:460px;margin:40px auto;background:#fff;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:28px 32px}
h1{font-size:20px;margin:0 0 6px}
p.who{color:#4a5868;margin:0 0 20px;font-size:14px;line-height:1.5}
label{display:block;font-size:13px;font-weight:600;margin:14px 0 6px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:9px 10px;border:1px solid #b9c4d0;border-radius:6px;font-size:14px}
button{margin-top:22px;width:100%;padding:11px;border:0;border-radius:6px;background:#0b6fc2;color:#fff;font-size:15px;font-weight:600;cursor:pointer}
.error{background:#fdecec;border:1px solid #f3b4b4;color:#a11d1d;padding:10px 12px;border-radius:6px;font-size:14px;margin-bottom:6px}
.done{background:#e8f6ec;border:1px solid #a9dcb7;color:#1d6b35;padding:12px;border-radius:6px;font-size:14px}
footer{text-align:center;color:#7a8794;font-size:12px;margin-top:18px}`;

function page(title: string, body: string): string {
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>` +
        `<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>` +
        `<body><header>Cloudiway<small>Self Service Migration (local emulator)</small></header><main>${body}</main>` +
        `<footer>Served by the pulumi-cloudiway emulator — not Cloudiway.</footer></body></html>`;
}

export interface FormUser { firstName: string; lastName: string; sourceEmail: string; targetEmail: string }

export function renderForm(u: FormUser, opts: { admin: boolean; error?: string; username?: string }): string {
    const heading = opts.admin ? "Self Service Form (admin)" : "Migrate your mailbox";
    return page("Cloudiway Self Service", `<h1>${heading}</h1>` +
        `<p class="who">${esc(`${u.firstName} ${u.lastName}`)}: <b>${esc(u.sourceEmail)}</b> &rarr; <b>${esc(u.targetEmail)}</b><br>` +
        `Enter the username and password of the <b>source</b> mailbox to start the migration.</p>` +
        (opts.error ? `<div class="error" id="error" role="alert">${esc(opts.error)}</div>` : "") +
        `<form method="post" id="selfservice">` +
        `<label for="username">Source mailbox username</label>` +
        `<input type="text" id="username" name="username" autocomplete="username" value="${esc(opts.username ?? u.sourceEmail)}">` +
        `<label for="password">Source mailbox password</label>` +
        `<input type="password" id="password" name="password" autocomplete="current-password">` +
        `<button type="submit" id="start">${opts.admin ? "Start the migration" : "Start my migration"}</button></form>`);
}

export function renderDone(u: FormUser, status: string): string {
    return page("Cloudiway Self Service", `<h1>Migration started</h1>` +
        `<div class="done" id="confirmation" role="status">Thank you. The migration of <b>${esc(u.sourceEmail)}</b> to ` +
        `<b>${esc(u.targetEmail)}</b> has started. You can close this page.</div>` +
        `<p class="who" style="margin-top:16px">Status: <span id="status">${esc(status)}</span></p>`);
}

export function renderInvalid(message: string): string {
    return page("Cloudiway Self Service", `<h1>Link not valid</h1><div class="error" id="error" role="alert">${esc(message)}</div>`);
}
