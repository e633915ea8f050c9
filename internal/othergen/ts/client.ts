// A small TypeScript client of the Interop Data API, typed only by what
// openapi-typescript generates from api/openapi.yaml (into generated/, not
// checked in): make check-generators compiles it with tsc --noEmit, so a
// change of the contract that leaves a team outside Go unable to type a
// call, a group acknowledgement above all, fails CI.
import type { components, paths } from "./generated/api";

type Schemas = components["schemas"];
type JSONBody<Op> = Op extends { responses: { 200: { content: { "application/json": infer B } } } } ? B : never;

export type Task = Schemas["Task"];
export type TaskAck = Schemas["TaskAck"];
export type GroupAck = paths["/tasks/ack"]["put"]["requestBody"]["content"]["application/json"];
export type Receipts = JSONBody<paths["/tasks/ack"]["put"]>;
export type Receipt = JSONBody<paths["/tasks/{id}/ack"]["put"]>;
export type TasksPage = JSONBody<paths["/tasks"]["get"]>;
export type SchoolsPage = JSONBody<paths["/rostering/schools"]["get"]>;
export type Students = JSONBody<paths["/rostering/orgs/{id}/students"]["get"]>;
export type APIError = Schemas["ErrorResponse"];

export class InteropClient {
  constructor(
    private readonly base: string, // ends in /v2/interop/data
    private readonly token: string,
  ) {}

  private async call<T>(method: "GET" | "PUT", path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.base + path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json: unknown = await res.json();
    if (!res.ok) {
      const e = json as APIError;
      throw new Error(`${method} ${path}: ${e.error.status} ${e.error.code}: ${e.error.message}`);
    }
    return json as T;
  }

  schools(page = 0): Promise<SchoolsPage> {
    return this.call("GET", `/rostering/schools?page=${page}`);
  }

  students(orgID: string): Promise<Students> {
    return this.call("GET", `/rostering/orgs/${encodeURIComponent(orgID)}/students`);
  }

  lease(pageSize = 100): Promise<TasksPage> {
    return this.call("GET", `/tasks?page_size=${pageSize}`);
  }

  ack(id: string, ack: TaskAck): Promise<Receipt> {
    return this.call("PUT", `/tasks/${encodeURIComponent(id)}/ack`, ack);
  }

  ackGroup(acks: GroupAck): Promise<Receipts> {
    return this.call("PUT", "/tasks/ack", acks);
  }
}

// taskID finds a task's id in either rendering: the payload object of
// schema 2.x, or the root of schema 3.x.
export function taskID(t: Task): string | undefined {
  return t.lifecycle_event?.id ?? t.sync_event?.id ?? t.data_event?.id ?? t.authenticate?.id ?? t.id;
}

// drain leases a batch and acknowledges it in one group: data events as
// success with the application's id, the rest as retry.
export async function drain(c: InteropClient): Promise<number> {
  const page = await c.lease(50);
  const acks: GroupAck = [];
  for (const t of page.data) {
    const id = taskID(t);
    if (id === undefined) continue;
    if (t.data_event) {
      acks.push({ task_id: id, status: "success", message: "stored", "$sys.app_id": t.data_event.object_id });
    } else {
      acks.push({ task_id: id, status: "retry" });
    }
  }
  if (acks.length === 0) return 0;
  const receipts = await c.ackGroup(acks);
  return receipts.data.filter((r) => r.status === "success").length;
}

export async function roster(c: InteropClient): Promise<string[]> {
  const names: string[] = [];
  const schools = await c.schools();
  for (const s of schools.data) {
    const id = s.$sys?.id;
    if (!id) continue;
    for (const st of (await c.students(id)).data) {
      names.push(`${s.name ?? ""}: ${st.name?.first ?? ""} ${st.name?.last ?? ""}`);
    }
  }
  return names;
}
