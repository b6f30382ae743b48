// Live running total on the ballot form. The page works without this: the "Check my
// total" button asks the server for the same figures.
(function () {
  "use strict";
  var form = document.querySelector(".ballot-form");
  if (!form || !window.Intl || !window.gettext) { return; }
  var budget = Number(form.dataset.budget);
  var maxChoices = Number(form.dataset.maxChoices || 0);
  var withinBudget = form.dataset.withinBudget === "true";
  var money = new Intl.NumberFormat(document.documentElement.lang || "en-GB", {
    style: "currency", currency: form.dataset.currency, useGrouping: "always"
  });
  var status = document.getElementById("ballot-total");
  var boxes = form.querySelectorAll("input[type=checkbox][data-cost]");

  function update() {
    var spent = 0, count = 0;
    boxes.forEach(function (box) {
      if (box.checked) { spent += Number(box.dataset.cost); count += 1; }
    });
    // Whole pennies, so the sum of decimal costs has no binary rounding error.
    spent = Math.round(spent * 100) / 100;
    // The words come from the site's translations (jsi18n, loaded before this file).
    var text;
    if (withinBudget) {
      text = interpolate(gettext("Your choices add up to %(spent)s of %(budget)s."),
        {spent: money.format(spent), budget: money.format(budget)}, true) + " " +
        (spent > budget ? gettext("That is over the budget: untick some proposals.") :
          interpolate(gettext("Left: %(left)s."),
            {left: money.format(Math.round((budget - spent) * 100) / 100)}, true));
    } else {
      text = interpolate(ngettext("You chose %(count)s proposal of up to %(most)s.",
        "You chose %(count)s proposals of up to %(most)s.", count),
        {count: count, most: maxChoices}, true) +
        (count > maxChoices ? " " + gettext("That is too many: untick some.") : "");
    }
    status.classList.toggle("over", withinBudget ? spent > budget : count > maxChoices);
    status.textContent = text;
  }
  boxes.forEach(function (box) { box.addEventListener("change", update); });
})();
