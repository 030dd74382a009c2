// Behaviour every page may use, declared in the markup (the Content-Security-Policy allows no inline script):
//   <form data-confirm="…">      asks before submitting
//   <button data-print>          prints the page
//   <input data-select-on-click> selects its text when clicked
//   <a data-history-back>        goes back one page
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-confirm]") : null;
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print], [data-select-on-click], [data-history-back]") : null;
    if (!target) { return; }
    if (target.hasAttribute("data-print")) {
      window.print();
    } else if (target.hasAttribute("data-select-on-click")) {
      target.select();
    } else if (target.hasAttribute("data-history-back")) {
      event.preventDefault();
      window.history.back();
    }
  });
}());
