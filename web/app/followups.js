// The follow-up inbox (issue 18): voicemails and callback requests assigned to me, and my
// team's while nobody has them, newest first. A voicemail plays from its presigned S3 link
// (GET /agents/me/followups hands it out, for the assignee only); "Call back" dials through
// the page's normal outbound path (the dial form, as `/?call=` does); "Done" closes it.

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
      const why = error.kind === "network" ? "no answer from the server" : error.message;
      this.render([], `Could not load your follow-ups (${why}).`);
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
      button.title = `Could not close it: ${error.message || error}`;
      return;
    }
    await this.refresh();
  }

  render(items, emptyText = "Nothing to follow up.") {
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
    kind.textContent = item.kind === "voicemail" ? "Voicemail" : "Callback request";
    const who = document.createElement("span");
    who.className = "followup-who";
    who.textContent = item.customer_name || item.caller_display || "Unknown caller";
    head.append(kind, who);
    const meta = document.createElement("div");
    meta.className = "followup-meta muted";
    const parts = [item.caller_display, this.view.when(item.started_ms)];
    parts.push(item.assignee ? "assigned to you" : `team ${item.team}, unassigned`);
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
      wait.textContent = "The recording is still being stored.";
      li.append(wait);
    }
    const actions = document.createElement("div");
    actions.className = "followup-actions";
    if (item.caller && /^\+?\d+$/.test(item.caller)) {
      const call = document.createElement("button");
      call.type = "button";
      call.className = "btn btn-accept btn-small followup-call";
      call.textContent = "Call back";
      call.addEventListener("click", () => this.view.callBack(item.caller));
      actions.append(call);
    }
    const done = document.createElement("button");
    done.type = "button";
    done.className = "btn btn-quiet btn-small followup-done";
    done.textContent = "Done";
    done.addEventListener("click", () => this.done(item.id, done));
    actions.append(done);
    li.append(actions);
    return li;
  }
}
