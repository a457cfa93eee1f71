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
