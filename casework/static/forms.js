/* How many characters a long text box still takes (data-max); without this script the page
   states the limit instead. */
(function () {
  "use strict";
  var counters = document.querySelectorAll("[data-counter-for]");
  for (var i = 0; i < counters.length; i++) {
    (function (counter) {
      var box = document.getElementById(counter.getAttribute("data-counter-for"));
      if (!box) { return; }
      var limit = parseInt(box.getAttribute("data-max"), 10);
      var text = counter.getAttribute("data-remaining-text");
      function update() {
        var left = limit - box.value.length;
        counter.textContent = text.replace("%s", String(left));
        counter.classList.toggle("over", left < 0);
      }
      box.addEventListener("input", update);
      update();
    })(counters[i]);
  }
})();
/* The assessment: a need marked some or urgent opens its note. */
(function () {
  "use strict";
  var rows = document.querySelectorAll("fieldset.need-row");
  for (var i = 0; i < rows.length; i++) {
    (function (row) {
      var note = row.querySelector("details.need-note");
      var radios = row.querySelectorAll("input[type=radio]");
      for (var j = 0; j < radios.length; j++) {
        radios[j].addEventListener("change", function (event) {
          if (note && event.target.checked && event.target.value !== "none") { note.open = true; }
        });
      }
    })(rows[i]);
  }
})();
/* The UIC's parts: the code that will be kept, shown as the worker types (the server computes the
   same: casework.clients.uic). */
(function () {
  "use strict";
  var box = document.querySelector("[data-uic-parts]");
  if (!box || !String.prototype.normalize) { return; }
  var preview = box.querySelector("[data-uic-preview]");
  var field = function (name) { return box.querySelector("[name=" + name + "]"); };
  function plain(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐÐð]/g, "D")
      .toUpperCase().replace(/[^A-Z0-9]/g, "");
  }
  function update() {
    var mother = plain(field("uic_mother").value).slice(0, 2), father = plain(field("uic_father").value).slice(0, 2);
    var year = plain(field("uic_year").value), sex = plain(field("uic_sex").value);
    var complete = mother.length === 2 && father.length === 2 && /^(19|20)\d\d$/.test(year) && sex;
    preview.textContent = complete ? preview.getAttribute("data-text").replace("%s", mother + father + year + sex) : "";
  }
  ["uic_mother", "uic_father", "uic_year", "uic_sex"].forEach(function (name) {
    var input = field(name);
    if (input) { input.addEventListener("input", update); input.addEventListener("change", update); }
  });
})();
