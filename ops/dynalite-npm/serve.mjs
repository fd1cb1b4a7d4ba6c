// dynalite on 127.0.0.1, for as long as the Python process that started it lives: it exits when
// its stdin closes (ops/dynalite.py holds the other end), so a killed benchmark leaves no server.
// It also counts the requests it serves by X-Amz-Target: on stdin, "counts" prints them as one
// JSON line, "reset" zeroes them. Requests whose User-Agent holds the ignore word are not counted.
import dynalite from "dynalite";
import readline from "node:readline";

const [port, ignore = ""] = process.argv.slice(2);
let counts = {};
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.on("request", (request) => {
  const agent = String(request.headers["user-agent"] || "");
  if (ignore && agent.includes(ignore)) return;
  const target = String(request.headers["x-amz-target"] || request.method).split(".").pop();
  counts[target] = (counts[target] || 0) + 1;
});
server.listen(Number(port), "127.0.0.1", () => console.log(`dynalite listening on ${port}`));

const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "counts") console.log(JSON.stringify(counts));
  if (line.trim() === "reset") counts = {};
});
input.on("close", () => process.exit(0));
