// The follow-up inbox (issue 18): voicemails and callback requests assigned to me, and my
// team's while nobody has them, newest first. A voicemail plays from its presigned S3 link
// (GET /agents/me/followups hands it out, for the assignee only); "Call back" dials through
// the page's normal outbound path (the dial form, as `/?call=` does); "Done" closes it.

import { formatPhone, t } from "../shared/i18n.js";

const enc = encodeURIComponent;

export class FollowUps {
  /**
   * @param {{get: Function, post: Function}} api the page's ApiClient
   * @param {{list: HTMLElement, count: HTMLElement, callBack: (number: string) => void,
   *          when: (ms: number) => string}} view
   */
  constructor(api, view) {
    this.api = api;
    this.view = view;
  }

  async refresh() {
    let body;
    try {
      body = await this.api.get("/agents/me/followups");
    } catch (error) {
      if (error.kind === "refused") return;
      const why = error.kind === "network" ? t("common.noAnswer") : error.message;
      this.render([], t("softphone.followups.failed", { why }));
      return;
    }
    this.render(Array.isArray(body?.followups) ? body.followups : []);
  }

  async done(id, button) {
    button.disabled = true;
    try {
      await this.api.post(`/followups/${enc(id)}/done`, {});
    } catch (error) {
      button.disabled = false;
      button.title = t("softphone.followups.doneFailed", { error: error.message || error });
      return;
    }
    await this.refresh();
  }

  render(items, emptyText = t("softphone.followups.none")) {
    const { list, count } = this.view;
    list.replaceChildren();
    count.textContent = items.length ? String(items.length) : "";
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = emptyText;
      list.append(li);
      return;
    }
    for (const item of items) list.append(this.line(item));
  }

  line(item) {
    const li = document.createElement("li");
    li.className = "followup";
    li.dataset.followup = item.id;
    li.dataset.kind = item.kind;
    if (item.overdue) li.classList.add("overdue");
    const head = document.createElement("div");
    head.className = "followup-head";
    const kind = document.createElement("span");
    kind.className = "followup-kind";
    kind.textContent = t(`common.followup.${item.kind === "voicemail" ? "voicemail" : "callback"}`);
    const who = document.createElement("span");
    who.className = "followup-who";
    who.textContent = item.customer_name || formatPhone(item.caller) || t("softphone.unknownCaller");
    head.append(kind, who);
    const meta = document.createElement("div");
    meta.className = "followup-meta muted";
    const parts = [formatPhone(item.caller) || item.caller_display, this.view.when(item.started_ms)];
    parts.push(item.assignee ? t("softphone.followups.yours") : t("softphone.followups.teams", { team: item.team }));
    meta.textContent = parts.filter(Boolean).join(" · ");
    li.append(head, meta);
    const vm = item.voicemail;
    if (vm && vm.url) {
      const audio = document.createElement("audio");
      audio.className = "followup-player";
      audio.controls = true;
      audio.preload = "none";
      audio.src = vm.url;
      li.append(audio);
      if (vm.transcript) {
        const text = document.createElement("p");
        text.className = "followup-transcript";
        text.textContent = vm.transcript;
        li.append(text);
      }
    } else if (item.kind === "voicemail") {
      const wait = document.createElement("p");
      wait.className = "muted";
      wait.textContent = t("softphone.followups.storing");
      li.append(wait);
    }
    const actions = document.createElement("div");
    actions.className = "followup-actions";
    if (item.caller && /^\+?\d+$/.test(item.caller)) {
      const call = document.createElement("button");
      call.type = "button";
      call.className = "btn btn-accept btn-small followup-call";
      call.textContent = t("softphone.callBack");
      call.addEventListener("click", () => this.view.callBack(item.caller));
      actions.append(call);
    }
    const done = document.createElement("button");
    done.type = "button";
    done.className = "btn btn-quiet btn-small followup-done";
    done.textContent = t("softphone.followups.done");
    done.addEventListener("click", () => this.done(item.id, done));
    actions.append(done);
    li.append(actions);
    return li;
  }
}
