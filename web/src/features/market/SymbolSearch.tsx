import { useId, useMemo, useState, type KeyboardEvent } from 'react';
import { useDebounced } from '../../lib/useDebounced';
import { useSymbols } from './api';

const SHOWN = 8;

/** A combobox over the whole symbol universe, filtered as the user types (debounced). */
export function SymbolSearch({ value, onChange }: { value: string; onChange: (symbol: string) => void }) {
  const id = useId();
  const symbols = useSymbols();
  const [text, setText] = useState(value);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const query = useDebounced(text.trim().toUpperCase(), 150);

  const matches = useMemo(() => {
    const all = symbols.data ?? [];
    if (!query) return all.slice(0, SHOWN);
    const starts = all.filter((s) => s.symbol.startsWith(query) || s.base_asset === query);
    const contains = all.filter((s) => !starts.includes(s) && s.symbol.includes(query));
    return [...starts, ...contains].slice(0, SHOWN);
  }, [symbols.data, query]);

  function choose(symbol: string) {
    setText(symbol);
    setOpen(false);
    onChange(symbol);
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      setOpen(true);
      setActive((i) => Math.min(i + 1, matches.length - 1));
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      setActive((i) => Math.max(i - 1, 0));
    } else if (event.key === 'Enter' && open && matches[active]) {
      event.preventDefault();
      choose(matches[active].symbol);
    } else if (event.key === 'Escape') {
      setOpen(false);
    }
  }

  return (
    <div className="field combobox">
      <label htmlFor={`${id}-input`}>Symbol</label>
      <input
        id={`${id}-input`}
        role="combobox"
        aria-expanded={open}
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-activedescendant={open && matches[active] ? `${id}-${matches[active].symbol}` : undefined}
        autoComplete="off"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
          setActive(0);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 120)}
        onKeyDown={onKeyDown}
      />
      {open && matches.length > 0 && (
        <ul id={`${id}-list`} role="listbox" className="listbox" aria-label="Matching symbols">
          {matches.map((s, i) => (
            <li
              key={s.symbol}
              id={`${id}-${s.symbol}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(s.symbol);
              }}
            >
              {s.symbol} <span className="muted">{s.base_asset}/{s.quote_asset}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
