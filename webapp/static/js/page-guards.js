/* Behaviour that used to live in inline handlers (onsubmit=...), which the Content-Security-Policy
   (script-src 'self', no 'unsafe-inline') no longer runs:
   - <form data-confirm="question"> asks before submitting;
   - <form data-inert> never submits (form previews in the designer). */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.hasAttribute("data-inert")) {
      event.preventDefault();
      return;
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);
})();
