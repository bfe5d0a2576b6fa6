/* A date typed into a period box counts once the box is left, however it is left.

Dash's DatePickerRange reads a typed date on Enter, Tab or an arrow key only: a start
typed and then left by a click on the end box stays on screen but is never sent, and the
map shows another period than the picker (issue 17). Leaving a box whose text changed
since it was entered hands the picker the Tab key it reads a typed date on (an invalid
text goes back to the date in force, as on Tab).
*/
(function () {
  "use strict";
  const entered = new WeakMap();

  function dateBox(target) {
    return target instanceof HTMLInputElement &&
      target.classList.contains("dash-datepicker-input") ? target : null;
  }

  document.addEventListener("focusin", function (event) {
    const box = dateBox(event.target);
    if (box) entered.set(box, box.value);
  }, true);

  document.addEventListener("focusout", function (event) {
    const box = dateBox(event.target);
    if (!box || !entered.has(box) || entered.get(box) === box.value) return;
    entered.delete(box);
    box.dispatchEvent(new KeyboardEvent("keydown", {key: "Tab", code: "Tab", keyCode: 9,
                                                    bubbles: true, cancelable: true}));
  }, true);
})();
