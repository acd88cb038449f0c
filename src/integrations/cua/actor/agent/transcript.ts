/** The human-readable record of a task: the model's words, one line per action, the outcome. */

export class Transcript {
  private readonly lines: string[] = [];

  constructor(task: string) {
    this.lines.push(`task: ${task}`);
  }

  model(step: number, text: string): void {
    const t = text.trim();
    if (t !== '') this.lines.push(`[${step}] model: ${t.replace(/\n+/g, '\n    ')}`);
  }

  action(step: number, description: string, error?: string): void {
    this.lines.push(`[${step}] ${description}${error === undefined ? '' : ` → failed: ${error}`}`);
  }

  note(text: string): void {
    this.lines.push(text);
  }

  toString(): string {
    return this.lines.join('\n');
  }
}
