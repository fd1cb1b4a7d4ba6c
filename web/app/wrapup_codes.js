// Wrap-up codes: what came of the call (商談化, 不在, 折り返し依頼, 対象外 by default; the server's
// WRAP_UP_CODES), asked at every wrap-up, inbound and outbound, and stored on the conversation
// (POST /conversations/{id}/wrap-up-code). The list is read once per page (GET /wrap-up-codes);
// while it cannot be read the wrap-up is not blocked on it.

export class WrapUpCodes {
  constructor(api) {
    this.api = api;
    this.codes = [];
    this.loading = null;
  }

  /** The configured codes ([] while unknown); asks the server until it has answered once. */
  async load() {
    if (this.codes.length) return this.codes;
    if (!this.loading) {
      this.loading = this.api
        .get("/wrap-up-codes")
        .then((body) => {
          this.codes = Array.isArray(body?.codes) ? body.codes.map(String) : [];
        })
        .catch(() => {})
        .finally(() => {
          this.loading = null;
        });
    }
    await this.loading;
    return this.codes;
  }

  /** One radio button per code in `box` (a fieldset with a legend), none chosen. */
  async show(box) {
    const codes = await this.load();
    box.querySelectorAll("label").forEach((label) => label.remove());
    box.hidden = codes.length === 0;
    for (const code of codes) {
      const label = document.createElement("label");
      label.className = "wrapup-code";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "wrapup-code";
      radio.value = code;
      label.append(radio, document.createTextNode(code));
      box.append(label);
    }
  }

  /** The chosen code, "" when none is; null when there is no list to choose from. */
  chosen(box) {
    if (!this.codes.length) return null;
    const checked = box.querySelector('input[name="wrapup-code"]:checked');
    return checked ? checked.value : "";
  }

  /** Store it; the conversation record can trail the hang-up by a second or two (404: retry). */
  async save(conversationId, code, { attempts = 4, delayMs = 1000 } = {}) {
    const path = `/conversations/${encodeURIComponent(conversationId)}/wrap-up-code`;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.api.post(path, { code });
      } catch (error) {
        if (error.status !== 404 || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, delayMs * attempt));
      }
    }
  }
}
