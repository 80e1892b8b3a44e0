// Gatehouse passkey buttons (two-factor-views.ts). A button with data-webauthn="authenticate" or
// "register" fetches the WebAuthn options from data-options (a POST carrying the form's CSRF token),
// runs the ceremony through @simplewebauthn/browser (served from this origin), puts the result in the
// form's `response` field and submits the form. Buttons stay hidden where WebAuthn is unavailable.
(function () {
  'use strict';
  var webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn || !webauthn.browserSupportsWebAuthn()) return;

  function fail(form, message) {
    var line = form.querySelector('[data-webauthn-error]');
    if (!line) return;
    line.textContent = message;
    line.hidden = false;
  }

  function run(button) {
    var form = button.form;
    var mode = button.getAttribute('data-webauthn');
    if (mode === 'register' && !form.reportValidity()) return;
    var csrf = form.querySelector('input[name="csrf_token"]').value;
    button.disabled = true;
    fetch(button.getAttribute('data-options'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf_token: csrf }).toString(),
    })
      .then(function (r) {
        if (!r.ok) throw new Error('options ' + r.status);
        return r.json();
      })
      .then(function (optionsJSON) {
        return mode === 'register'
          ? webauthn.startRegistration({ optionsJSON: optionsJSON })
          : webauthn.startAuthentication({ optionsJSON: optionsJSON });
      })
      .then(function (result) {
        form.querySelector('input[name="response"]').value = JSON.stringify(result);
        form.submit();
      })
      .catch(function (e) {
        console.warn('passkey: ' + (e && e.name) + ' ' + (e && e.message));
        button.disabled = false;
        fail(
          form,
          mode === 'register' ? 'The passkey was not added. Try again.' : 'No passkey was used. Try again, or sign in another way.',
        );
      });
  }

  var buttons = document.querySelectorAll('button[data-webauthn]');
  for (var i = 0; i < buttons.length; i++) {
    (function (button) {
      button.hidden = false;
      button.addEventListener('click', function () {
        run(button);
      });
    })(buttons[i]);
  }
})();
