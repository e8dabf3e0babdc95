"""The web UI's login page, served when the server wants a token (`http_token.py`): one
form that posts the token to `login` (relative: under a path prefix too). Pure, no script.
"""

from __future__ import annotations

from html import escape

from reconciler.loop.ui import page


def login_page(message: str) -> str:
    """The form, with `message` (why the last try failed) above it when there is one."""
    said = f'<p id="login-error" role="alert">{escape(message)}</p>\n' if message else ""
    return page(
        "Sign in",
        "",
        f"""<h1>Sign in</h1>
<p>This Harmonia server wants its token (an operator has it, in a Secret).</p>
{said}<form method="post" action="login">
<label>Token <input type="password" name="token" autocomplete="current-password" required \
autofocus></label>
<button type="submit">Sign in</button>
</form>""",
    )
