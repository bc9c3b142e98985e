"""The native peer of `npm run bench -- --peer`: the coursework's CNN and BiLSTM training steps in PyTorch.

The same shapes as genrelens's models (pipeline/lib/train/models/): batch 64, 64 x 64 posters, overviews of
`--timesteps` tokens (padding packed away, as the Keras mask does), Adam at 1e-4 and binary cross-entropy,
on `--threads` threads. PyTorch's LSTM has no per-timestep recurrent dropout, so the BiLSTM here has none
(genrelens's bench reports what it costs there). Prints one JSON line: the torch version and the
milliseconds of each timed step, after one warm-up step. Optional: nothing in the build or tests runs it.
"""
import argparse
import json
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

BATCH = 64
GENRES = 25


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Dropout(0.2)]
        channels = 16
        for filters in (32, 64, 128):
            layers += [
                nn.Conv2d(channels, filters, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(filters, filters, 3, padding=1),
                nn.ReLU(),
                nn.Dropout(0.2),
                nn.MaxPool2d(2),
            ]
            channels = filters
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, 1024),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(1024, 1024),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(1024, GENRES),
        )

    def forward(self, x):
        return self.head(self.features(x))


class BiLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10_000, 256, padding_idx=0)
        self.input_dropout = nn.Dropout(0.5)
        self.first = nn.LSTM(256, 256, batch_first=True, bidirectional=True)
        self.second = nn.LSTM(512, 128, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.8), nn.Linear(128, GENRES))

    def forward(self, ids, lengths):
        x = self.input_dropout(self.embedding(ids))
        out, _ = self.first(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        out = self.input_dropout(out)
        _, (h, _) = self.second(pack_padded_sequence(out, lengths, batch_first=True, enforce_sorted=False))
        return self.head(torch.cat([h[0], h[1]], dim=1))


def time_steps(model, inputs, labels, reps):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss()
    model.train()
    times = []
    for i in range(reps + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = loss_fn(model(*inputs), labels)
        loss.backward()
        optimizer.step()
        if i > 0:
            times.append((time.perf_counter() - start) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=28)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    labels = (torch.rand(BATCH, GENRES) < 0.1).float()
    cnn_ms = time_steps(Cnn(), (torch.rand(BATCH, 3, 64, 64),), labels, args.reps)
    # One overview of exactly `timesteps` tokens, the others up to 3 shorter (a length-grouped batch).
    lengths = torch.tensor([args.timesteps] + [max(1, args.timesteps - int(torch.randint(0, 4, ()))) for _ in range(BATCH - 1)])
    ids = torch.zeros(BATCH, args.timesteps, dtype=torch.long)
    for row, length in enumerate(lengths.tolist()):
        ids[row, :length] = torch.randint(2, 10_000, (length,))
    lstm_ms = time_steps(BiLstm(), (ids, lengths), labels, args.reps)
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "cnnMs": cnn_ms, "lstmMs": lstm_ms}))


if __name__ == "__main__":
    main()
