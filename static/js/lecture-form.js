/* The add-lecture form shows only the fields of the chosen kind (video, document, offline). Without JS every
 * section shows, as before; the server ignores the fields of the other kinds. */
(function () {
  "use strict";
  var form = document.getElementById("lecture-form");
  var select = form ? form.querySelector("select[name=kind]") : null;
  if (!select) return;
  function update() {
    form.querySelectorAll("[data-kind]").forEach(function (section) {
      var kinds = section.getAttribute("data-kind").split(" ");
      section.hidden = kinds.indexOf(select.value) === -1;
    });
  }
  select.addEventListener("change", update);
  update();
})();
