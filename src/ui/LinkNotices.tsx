// What the page could not use from the link it was opened with (or a model switch dropped).
import { useAppStore } from '../store';

export function LinkNotices() {
  const notices = useAppStore((s) => s.linkErrors);
  if (notices.length === 0) return null;
  return (
    <div className="notice warning" role="status" aria-label="Link notices">
      <ul>
        {notices.map((n, i) => (
          <li key={i}>{n}</li>
        ))}
      </ul>
    </div>
  );
}
