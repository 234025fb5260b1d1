package train

import (
	"context"
	"fmt"
	"math"
	"time"
)

// PlannedBatch is a training batch with the epoch it belongs to.
type PlannedBatch struct {
	Epoch int
	Batch
}

// Run trains over plan in order, with validation on val (may be empty),
// checkpoints and resume (when cfg.CheckpointDir is set), and early
// stopping. On return the model's weights are the kept ones: those of the
// best validation loss, or the last ones without validation.
//
// A run killed at any point (ctx cancelled, process killed) and started
// again with the same model, plan and config continues from its last
// checkpoint and ends with the same weights as an uninterrupted run (as
// long as MaxMinutes is 0).
func (t *Trainer) Run(ctx context.Context, plan []PlannedBatch, val []Batch) (*Result, error) {
	cfg := t.cfg
	total := len(plan)
	res := &Result{BestStep: -1, BestValLoss: math.NaN(), StoppedBy: "plan"}
	if cfg.MaxSteps > 0 && cfg.MaxSteps < total {
		total = cfg.MaxSteps
		res.StoppedBy = "max_steps"
	}
	if total == 0 {
		return nil, fmt.Errorf("train: the batch plan is empty")
	}
	evalEvery := cfg.EvalEvery
	if evalEvery <= 0 {
		evalEvery = max(1, total/10)
	}
	st := &state{BestValLoss: math.Inf(1), BestStep: -1}
	if cfg.CheckpointDir != "" {
		ck, err := loadCheckpoint(cfg.CheckpointDir, t)
		if err != nil {
			return nil, err
		}
		if ck != nil {
			st = ck
			res.Resumed = st.Next
			t.logf("resumed from checkpoint", "step", st.Next, "dir", cfg.CheckpointDir)
		}
	}
	var best map[int][]float32 // trainable index -> weights of the best validation
	if st.Best != nil {
		best = st.Best
	}
	start := time.Now()
	lastCk := start // a resumed run has just read its checkpoint
	saveCk := func() error {
		if cfg.CheckpointDir == "" {
			return nil
		}
		if cfg.CheckpointInterval > 0 && time.Since(lastCk) < cfg.CheckpointInterval {
			return nil // too soon: a killed run replays these steps, with the same result
		}
		st.Best = best
		if err := saveCheckpoint(cfg.CheckpointDir, t, st); err != nil {
			return err
		}
		lastCk = time.Now()
		return nil
	}
	validate := func(k int) (stop bool, err error) {
		if len(val) == 0 {
			return false, nil
		}
		vl, err := t.ValLoss(ctx, val)
		if err != nil {
			return false, err
		}
		st.Log[len(st.Log)-1].ValLoss = vl
		if vl < st.BestValLoss {
			st.BestValLoss, st.BestStep, st.Bad = vl, k, 0
			best = t.snapshot()
		} else {
			st.Bad++
		}
		t.logf("validation", "step", k, "val_loss", vl, "best", st.BestValLoss)
		return cfg.Patience > 0 && st.Bad >= cfg.Patience, nil
	}
	if st.Stopped != "" {
		res.StoppedBy = st.Stopped // the checkpoint was written when the run stopped early
	}
	for k := st.Next; k < total && st.Stopped == ""; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if cfg.MaxMinutes > 0 && time.Since(start).Minutes() >= cfg.MaxMinutes {
			res.StoppedBy = "max_minutes"
			if len(st.Log) > 0 && len(val) > 0 && math.IsNaN(st.Log[len(st.Log)-1].ValLoss) {
				if _, err := validate(st.Next); err != nil {
					return nil, err
				}
			}
			break
		}
		pb := plan[k]
		lr := LR(cfg.LR, cfg.WarmupFrac, k, total)
		t0 := time.Now()
		loss, gn, err := t.Step(pb.Batch, lr, k+1)
		if err != nil {
			return nil, err
		}
		el := time.Since(t0).Seconds()
		st.Log = append(st.Log, LogRow{Step: int64(k + 1), Epoch: int32(pb.Epoch), Loss: loss, LR: lr, ValLoss: math.NaN(),
			PairsPerS: float64(len(pb.Queries)) / el, GradNorm: gn, BatchPairs: int32(len(pb.Queries))})
		st.Next = k + 1
		if (k+1)%evalEvery == 0 || k+1 == total {
			stop, err := validate(k + 1)
			if err != nil {
				return nil, err
			}
			if stop {
				res.StoppedBy, st.Stopped = "early_stopping", "early_stopping"
				if err := saveCk(); err != nil {
					return nil, err
				}
				break
			}
		}
		if cfg.CheckpointEvery > 0 && (k+1)%cfg.CheckpointEvery == 0 {
			if err := saveCk(); err != nil {
				return nil, err
			}
		}
		if cfg.OnStep != nil {
			cfg.OnStep(k+1, total)
		}
		if (k+1)%10 == 0 {
			t.logf("step", "step", k+1, "of", total, "loss", loss, "lr", lr, "pairs_per_s", st.Log[len(st.Log)-1].PairsPerS)
		}
	}
	if err := saveCk(); err != nil {
		return nil, err
	}
	if best != nil {
		if err := t.restore(best); err != nil {
			return nil, err
		}
		res.BestStep, res.BestValLoss = st.BestStep, st.BestValLoss
	}
	res.Steps = st.Next
	res.Log = st.Log
	return res, nil
}

func (t *Trainer) logf(msg string, args ...any) {
	if t.cfg.Log != nil {
		t.cfg.Log.Info(msg, args...)
	}
}

// snapshot copies the trainable weights.
func (t *Trainer) snapshot() map[int][]float32 {
	out := map[int][]float32{}
	for i, v := range t.model.Trainable {
		out[i] = tensorsCopy(v)
	}
	return out
}

func (t *Trainer) restore(w map[int][]float32) error {
	for i, v := range t.model.Trainable {
		data, ok := w[i]
		if !ok {
			return fmt.Errorf("train: snapshot lacks weight %s", v.Path())
		}
		if err := setVar(v, data); err != nil {
			return err
		}
	}
	return nil
}
