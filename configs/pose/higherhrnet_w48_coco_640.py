# HigherHRNet-W48, COCO, 640x640 input (official: 69.9 AP on val2017 with flip test).
_base_ = ['./higherhrnet_w32_coco_640.py']
model = dict(backbone=dict(arch='w48'))
train_dataloader = dict(batch_size=10)  # per GPU, official yaml (W48)
