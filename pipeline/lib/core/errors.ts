/**
 * A problem the user can fix (bad dataset, bad config). The CLI prints these as a plain message —
 * what went wrong, where (file, row) and how to fix it — without a stack trace.
 */
export interface UserErrorWhere {
  file?: string;
  /** 1-based line number in `file` where the problem is. */
  line?: number;
  fix?: string;
}

export class UserError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly fix?: string;

  constructor(message: string, where: UserErrorWhere = {}) {
    super(message);
    this.name = 'UserError';
    this.file = where.file;
    this.line = where.line;
    this.fix = where.fix;
  }

  /** The message as the CLI prints it: `file:line: message` then `  fix: ...`. */
  format(): string {
    const at = this.file ? `${this.file}${this.line ? `:${this.line}` : ''}: ` : '';
    return `${at}${this.message}${this.fix ? `\n  fix: ${this.fix}` : ''}`;
  }
}
